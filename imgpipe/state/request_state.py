"""A request's progress as a chain of versions: the compare-and-set that filters on `_id` alone.

The counters, the counted-results mark and the status of a request move as one immutable
version document, `"<request_id>#<n>"` in `request_states`. Moving from version n means
inserting version n+1: the unique `_id` lets exactly one writer win, on MongoDB and on FerretDB
alike, and a loser re-reads the newer head and decides again. Nothing is ever updated in place,
so FerretDB's lost concurrent updates cannot touch a version, and every access is an insert or
a single-`_id` read.

To find the head without a query, the request document carries a hint (`state_version`), moved
forward after each insert. A hint may lag (a crash after the insert, or two hint writes crossing
on FerretDB): readers step forward from it until the next version is missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from imgpipe.contract.messages import FINISHED_STATUSES, NO_COUNTS, Counters, RequestStatus
from imgpipe.state.database import REQUEST_STATES, REQUESTS, Document, RequestDocument


@dataclass(frozen=True, kw_only=True)
class RequestState(Counters):
    """A request's counters (the contract's Counters) and where it stands, as one version."""

    version: int
    status: RequestStatus
    # Highest imgpipe.results offset whose effect is in the counters (see aggregator/tally.py).
    results_offset: int
    updated_at: datetime
    completed_at: datetime | None = None
    repairs: int = 0
    repaired_at: datetime | None = None
    expires_at: datetime | None = None  # set with the final status (imgpipe/state/retention.py)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


StateStep = Callable[[RequestState], "RequestState | None"]


def initial_state(now: datetime) -> RequestState:
    counters: dict[str, Any] = NO_COUNTS.counts()
    return RequestState(version=0, status=RequestStatus.QUEUED, results_offset=-1, updated_at=now, **counters)


def with_counters(state: RequestState, counters: Counters, **changes: Any) -> RequestState:
    """`state` with `counters` for its own, and `changes`: the counters move by name, all four."""
    values: dict[str, Any] = {**counters.counts(), **changes}
    return dataclasses.replace(state, **values)


def state_id(request_id: str, version: int) -> str:
    return f"{request_id}#{version}"


# A version's document is its state's fields as they are, under `_id` "<request_id>#<version>":
# RequestState is the one definition of a `request_states` document, and these two functions the
# only mapping between the two, written once for every field.
_FIELDS = frozenset(field.name for field in dataclasses.fields(RequestState))


def state_document(request_id: str, state: RequestState) -> Document:
    # The status is a StrEnum, which BSON stores as its plain string.
    return {"_id": state_id(request_id, state.version), **vars(state)}


def state_of(document: Document) -> RequestState:
    # A field a version lacks takes its default (a state written before retention has no
    # expires_at); one it has beyond these (written by a newer release) is left out.
    fields = {name: value for name, value in document.items() if name in _FIELDS}
    fields["status"] = RequestStatus(fields["status"])
    return RequestState(**fields)


async def insert_initial_state(db: AsyncDatabase[Document], request_id: str, now: datetime) -> None:
    await REQUEST_STATES.of(db).insert_one(state_document(request_id, initial_state(now)))


async def latest_state(db: AsyncDatabase[Document], request_id: str, hint: int) -> RequestState:
    """The head of the chain, found by stepping forward from version `hint` (which exists)."""
    document = await REQUEST_STATES.of(db).find_one({"_id": state_id(request_id, hint)})
    if document is None:
        raise LookupError(f"request {request_id} has no state version {hint}")
    while True:
        following = await REQUEST_STATES.of(db).find_one(
            {"_id": state_id(request_id, document["version"] + 1)}
        )
        if following is None:
            return state_of(document)
        document = following


async def request_state(db: AsyncDatabase[Document], request: RequestDocument) -> RequestState:
    """The current state of a request, given its request document."""
    return await latest_state(db, request["_id"], request["state_version"])


async def advance_state(
    db: AsyncDatabase[Document], request_id: str, head: RequestState, step: StateStep
) -> RequestState:
    """Apply `step` to the head of the chain and append its result; return the new head.

    `head` is the caller's best knowledge (possibly stale). `step` gets the true head and
    returns the next state (its version is set here), or None to leave the chain as it is.
    """
    while True:
        following = step(head)
        if following is None:
            return head
        following = dataclasses.replace(following, version=head.version + 1)
        try:
            await REQUEST_STATES.of(db).insert_one(state_document(request_id, following))
        except DuplicateKeyError:
            # Another writer moved first: decide again on what it wrote.
            head = await latest_state(db, request_id, head.version)
            continue
        await REQUESTS.of(db).update_one({"_id": request_id}, {"$max": {"state_version": following.version}})
        return following
