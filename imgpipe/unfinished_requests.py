"""The index of requests in flight: one `unfinished_requests` document per accepted, unfinished request.

It is what the periodic scans walk (resuming abandoned publishing, finishing and repairing
requests), so their cost follows the work in flight, never the size of the database. The gateway
inserts a request's entry before the request exists; the aggregator deletes it once the request
has finished.
"""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.database import UNFINISHED_REQUESTS, Document


async def mark_unfinished(db: AsyncDatabase[Document], request_id: str) -> None:
    await UNFINISHED_REQUESTS.of(db).insert_one({"_id": request_id})


async def unmark_unfinished(db: AsyncDatabase[Document], request_id: str) -> None:
    await UNFINISHED_REQUESTS.of(db).delete_one({"_id": request_id})


async def unfinished_request_ids(db: AsyncDatabase[Document]) -> list[str]:
    return [entry["_id"] async for entry in UNFINISHED_REQUESTS.of(db).find({})]
