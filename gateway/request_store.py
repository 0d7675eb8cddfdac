"""The gateway's reads and writes of the `requests` and `rows` collections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

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
            "publishing_done": False,
            "publish_heartbeat": now,
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


async def record_rows_published(
    db: AsyncDatabase[Document], request_id: str, published: int, done: bool
) -> None:
    now = datetime.now(UTC)
    changes: Document = {"publish_heartbeat": now, "updated_at": now}
    if done:
        changes["publishing_done"] = True
    await db[REQUESTS].update_one(
        {"_id": request_id}, {"$max": {"rows_published": published}, "$set": changes}
    )


async def rows_published(db: AsyncDatabase[Document], request_id: str) -> int:
    request = await db[REQUESTS].find_one({"_id": request_id}, {"rows_published": 1})
    return int(request["rows_published"]) if request else 0


async def claim_stale_publishing(db: AsyncDatabase[Document], lease_s: float) -> list[str]:
    """Claim requests whose rows are not all published and whose publisher stopped checkpointing.

    The claim is a compare-and-set on the heartbeat, so of several gateways only one wins.
    """
    now = datetime.now(UTC)
    stale = db[REQUESTS].find(
        {"publishing_done": False, "publish_heartbeat": {"$lt": now - timedelta(seconds=lease_s)}},
        {"publish_heartbeat": 1},
    )
    claimed = []
    async for request in stale:
        won = await db[REQUESTS].update_one(
            {"_id": request["_id"], "publish_heartbeat": request["publish_heartbeat"]},
            {"$set": {"publish_heartbeat": now}},
        )
        if won.modified_count:
            claimed.append(request["_id"])
    return claimed


async def find_request(db: AsyncDatabase[Document], request_id: str, owner: str | None) -> Document | None:
    """The request if `owner` may see it: another key's request looks exactly like a missing one."""
    return await db[REQUESTS].find_one({"_id": request_id, "owner": owner})


async def finished_rows(db: AsyncDatabase[Document], request_id: str) -> AsyncIterator[Document]:
    cursor = db[ROWS].find({"request_id": request_id}).sort("row", 1)
    async for row in cursor:
        yield row
