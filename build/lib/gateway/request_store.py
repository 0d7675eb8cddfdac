"""The gateway's reads and writes of a request: its document, its rows, its webhook record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from gateway.publishing_checkpoint import insert_checkpoint
from imgpipe.database import REQUESTS, ROWS, WEBHOOKS, Document
from imgpipe.messages import UNFINISHED_STATUSES, RequestStatus


async def insert_request(
    db: AsyncDatabase[Document],
    request_id: str,
    rows_total: int,
    images_total: int,
    webhook_url: str | None,
    owner: str | None,
) -> None:
    """Record an accepted request. The checkpoint goes first: a request document is what makes a
    request exist, and it must never be without a checkpoint that gets its rows published."""
    now = datetime.now(UTC)
    await insert_checkpoint(db, request_id, rows_total, now)
    await db[REQUESTS].insert_one(
        {
            "_id": request_id,
            "status": RequestStatus.QUEUED.value,
            "rows_total": rows_total,
            "images_total": images_total,
            "rows_done": 0,
            "rows_failed": 0,
            "images_done": 0,
            "images_failed": 0,
            # Highest imgpipe.results offset whose effect is in the counters (see aggregator).
            "results_offset": -1,
            "webhook_url": webhook_url,
            "owner": owner,
            "created_at": now,
            "updated_at": now,
            "completed_at": None,
        }
    )


async def find_request(db: AsyncDatabase[Document], request_id: str, owner: str | None) -> Document | None:
    """The request if `owner` may see it: another key's request looks exactly like a missing one."""
    return await db[REQUESTS].find_one({"_id": request_id, "owner": owner})


async def finished_rows(db: AsyncDatabase[Document], request_id: str) -> AsyncIterator[Document]:
    cursor = db[ROWS].find({"request_id": request_id}).sort("row", 1)
    async for row in cursor:
        yield row


async def webhook_record(db: AsyncDatabase[Document], request_id: str) -> Document | None:
    """The request's webhook deliveries so far (`status`, `deliveries`); None before the first."""
    return await db[WEBHOOKS].find_one({"_id": request_id})


async def count_unfinished_requests(db: AsyncDatabase[Document]) -> int:
    return await db[REQUESTS].count_documents({"status": {"$in": UNFINISHED_STATUSES}})
