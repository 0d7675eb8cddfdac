"""A request's publishing checkpoint: how many rows are in `imgpipe.rows`, and a lease.

It lives in its own `publishing` document, written only by gateways, so checkpointing never
collides with the aggregator's counting on the request document (see imgpipe/database.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.database import PUBLISHING, REQUESTS, Document


@dataclass(frozen=True)
class PublishingProgress:
    rows_total: int
    rows_published: int
    done: bool
    # When rows were last checkpointed: the request's progress while it is being published.
    # (`heartbeat`, the publisher's lease, also moves when a gateway claims the request.)
    progressed_at: datetime


async def insert_checkpoint(
    db: AsyncDatabase[Document], request_id: str, rows_total: int, now: datetime
) -> None:
    await db[PUBLISHING].insert_one(
        {
            "_id": request_id,
            "rows_total": rows_total,
            "rows_published": 0,
            "done": False,
            "heartbeat": now,
            "progressed_at": now,
        }
    )


async def record_rows_published(
    db: AsyncDatabase[Document], request_id: str, published: int, done: bool
) -> None:
    now = datetime.now(UTC)
    changes: Document = {"heartbeat": now, "progressed_at": now}
    if done:
        changes["done"] = True
    await db[PUBLISHING].update_one(
        {"_id": request_id}, {"$max": {"rows_published": published}, "$set": changes}
    )


async def publishing_progress(db: AsyncDatabase[Document], request_id: str) -> PublishingProgress | None:
    checkpoint = await db[PUBLISHING].find_one({"_id": request_id})
    if checkpoint is None:
        return None
    return PublishingProgress(
        checkpoint["rows_total"],
        checkpoint["rows_published"],
        checkpoint["done"],
        checkpoint["progressed_at"],
    )


async def claim_stale_publishing(db: AsyncDatabase[Document], lease_s: float) -> list[str]:
    """Claim requests whose rows are not all published and whose publisher stopped checkpointing.

    The claim is a compare-and-set on the heartbeat, so of several gateways one wins (on FerretDB
    two may both win now and then; the rows are then published twice, which the aggregator
    absorbs). A checkpoint without a request is what an upload refused mid-way leaves behind:
    its rows must not be published, so it is dropped.
    """
    now = datetime.now(UTC)
    stale = db[PUBLISHING].find(
        {"done": False, "heartbeat": {"$lt": now - timedelta(seconds=lease_s)}}, {"heartbeat": 1}
    )
    claimed = []
    async for checkpoint in stale:
        request_id = checkpoint["_id"]
        if await db[REQUESTS].find_one({"_id": request_id}, {"_id": 1}) is None:
            await db[PUBLISHING].delete_one({"_id": request_id})
            continue
        won = await db[PUBLISHING].update_one(
            {"_id": request_id, "heartbeat": checkpoint["heartbeat"]}, {"$set": {"heartbeat": now}}
        )
        if won.modified_count:
            claimed.append(request_id)
    return claimed
