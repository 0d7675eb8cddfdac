"""The index of unfinished requests: one `unfinished_requests` document per accepted, unfinished request.

It is what the periodic scans walk (resuming abandoned publishing, sharing the pipeline between
keys, finishing and repairing requests), so their cost follows the unfinished work, never the size
of the database. The gateway inserts a request's entry before the request exists; the aggregator
deletes it once the request has finished (and any scan drops an entry it finds finished).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.contract.request_presets import outputs_per_image, presets_of
from imgpipe.state.database import (
    PUBLISHING,
    REQUESTS,
    UNFINISHED_REQUESTS,
    Document,
    PublishingDocument,
    RequestDocument,
)
from imgpipe.state.request_state import RequestState, request_state


async def mark_unfinished(db: AsyncDatabase[Document], request_id: str) -> None:
    await UNFINISHED_REQUESTS.of(db).insert_one({"_id": request_id})


async def unmark_unfinished(db: AsyncDatabase[Document], request_id: str) -> None:
    await UNFINISHED_REQUESTS.of(db).delete_one({"_id": request_id})


async def unfinished_request_ids(db: AsyncDatabase[Document]) -> list[str]:
    return [entry["_id"] async for entry in UNFINISHED_REQUESTS.of(db).find({})]


async def unfinished_requests(db: AsyncDatabase[Document]) -> list[RequestDocument]:
    """The documents of the unfinished requests (an entry whose request is being accepted right
    now has none yet, and no row published)."""
    found = [
        await REQUESTS.of(db).find_one({"_id": request_id}) for request_id in await unfinished_request_ids(db)
    ]
    return [request for request in found if request is not None]


@dataclass(frozen=True)
class UnfinishedRequest:
    """An unfinished request as the scans see it: its document, its state and its publishing."""

    request: RequestDocument
    state: RequestState
    # When rows were last published, and whether all are; None: no checkpoint (yet).
    publishing: PublishingDocument | None

    def progressed_at(self) -> datetime:
        if self.publishing is None:
            return self.state.updated_at
        return max(self.state.updated_at, self.publishing["progressed_at"])

    def fully_published(self) -> bool:
        return self.publishing is not None and self.publishing["done"]

    @property
    def rows_unfinished(self) -> int:
        return self.request["rows_total"] - self.state.rows_finished

    @property
    def outputs_unfinished(self) -> int:
        """Its unfinished rows counted once per output each asks for, as the limits count them."""
        return self.rows_unfinished * outputs_per_image(presets_of(self.request))


async def walk_unfinished_requests(db: AsyncDatabase[Document]) -> list[UnfinishedRequest]:
    """Every unfinished request with its state; entries of finished requests are removed."""
    unfinished = []
    for request_id in await unfinished_request_ids(db):
        request = await REQUESTS.of(db).find_one({"_id": request_id})
        if request is None:
            continue  # being accepted right now, or refused mid-way (the gateways drop those)
        state = await request_state(db, request)
        if state.finished:
            await unmark_unfinished(db, request_id)  # finished by an aggregator that died just after
            continue
        publishing = await PUBLISHING.of(db).find_one({"_id": request_id})
        unfinished.append(UnfinishedRequest(request, state, publishing))
    return unfinished
