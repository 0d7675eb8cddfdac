"""The gateway's reads and writes of the `requests` and `rows` collections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.database import REQUESTS, ROWS, Document
from imgpipe.messages import RequestStatus


async def insert_request(
    db: AsyncDatabase[Document],
    request_id: str,
    rows_total: int,
    images_total: int,
    webhook_url: str | None,
    owner: str | None,
) -> None:
    now = datetime.now(UTC)
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
            "rows_published": 0,
            # Highest imgpipe.results offset whose effect is in the counters (see aggregator).
            "results_offset": -1,
            "webhook_url": webhook_url,
            "webhook_deliveries": [],
            "owner": owner,
            "created_at": now,
            "updated_at": now,
            "completed_at": None,
        }
    )


async def record_rows_published(db: AsyncDatabase[Document], request_id: str, rows_published: int) -> None:
    await db[REQUESTS].update_one({"_id": request_id}, {"$max": {"rows_published": rows_published}})


async def find_request(db: AsyncDatabase[Document], request_id: str, owner: str | None) -> Document | None:
    """The request if `owner` may see it: another key's request looks exactly like a missing one."""
    return await db[REQUESTS].find_one({"_id": request_id, "owner": owner})


async def finished_rows(db: AsyncDatabase[Document], request_id: str) -> AsyncIterator[Document]:
    cursor = db[ROWS].find({"request_id": request_id}).sort("row", 1)
    async for row in cursor:
        yield row
