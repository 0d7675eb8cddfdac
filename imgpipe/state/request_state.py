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

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from imgpipe.contract.messages import FINISHED_STATUSES, RequestStatus
from imgpipe.state.database import (
    REQUEST_STATES,
    REQUESTS,
    Document,
    RequestDocument,
    RequestStateDocument,
)


@dataclass(frozen=True)
class RequestState:
    version: int
    status: RequestStatus
    rows_done: int
    rows_failed: int
    images_done: int
    images_failed: int
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

    @property
    def rows_finished(self) -> int:
        return self.rows_done + self.rows_failed


StateStep = Callable[[RequestState], "RequestState | None"]


def initial_state(now: datetime) -> RequestState:
    return RequestState(
        version=0,
        status=RequestStatus.QUEUED,
        rows_done=0,
        rows_failed=0,
        images_done=0,
        images_failed=0,
        results_offset=-1,
        updated_at=now,
    )


def state_id(request_id: str, version: int) -> str:
    return f"{request_id}#{version}"


def _state_document(request_id: str, state: RequestState) -> RequestStateDocument:
    return RequestStateDocument(
        _id=state_id(request_id, state.version),
        version=state.version,
        status=state.status.value,
        rows_done=state.rows_done,
        rows_failed=state.rows_failed,
        images_done=state.images_done,
        images_failed=state.images_failed,
        results_offset=state.results_offset,
        updated_at=state.updated_at,
        completed_at=state.completed_at,
        repairs=state.repairs,
        repaired_at=state.repaired_at,
        expires_at=state.expires_at,
    )


def _state_of(document: RequestStateDocument) -> RequestState:
    return RequestState(
        version=document["version"],
        status=RequestStatus(document["status"]),
        rows_done=document["rows_done"],
        rows_failed=document["rows_failed"],
        images_done=document["images_done"],
        images_failed=document["images_failed"],
        results_offset=document["results_offset"],
        updated_at=document["updated_at"],
        completed_at=document["completed_at"],
        repairs=document["repairs"],
        repaired_at=document["repaired_at"],
        expires_at=document.get("expires_at"),
    )


async def insert_initial_state(db: AsyncDatabase[Document], request_id: str, now: datetime) -> None:
    await REQUEST_STATES.of(db).insert_one(_state_document(request_id, initial_state(now)))


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
            return _state_of(document)
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
            await REQUEST_STATES.of(db).insert_one(_state_document(request_id, following))
        except DuplicateKeyError:
            # Another writer moved first: decide again on what it wrote.
            head = await latest_state(db, request_id, head.version)
            continue
        await REQUESTS.of(db).update_one({"_id": request_id}, {"$max": {"state_version": following.version}})
        return following
