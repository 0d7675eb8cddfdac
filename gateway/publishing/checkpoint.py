"""A request's publishing checkpoint: how many rows are in `imgpipe.rows`, and a lease.

It lives in its own `publishing` document, written only by gateways, so checkpointing never
collides with the aggregator's counting on the request document (see imgpipe/state/database.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from imgpipe.state.database import PUBLISHING, PUBLISHING_CLAIMS, REQUESTS, Document
from imgpipe.state.unfinished_requests import unfinished_request_ids, unmark_unfinished


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
    await PUBLISHING.of(db).insert_one(
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
    await PUBLISHING.of(db).update_one(
        {"_id": request_id}, {"$max": {"rows_published": published}, "$set": changes}
    )


async def publishing_progress(db: AsyncDatabase[Document], request_id: str) -> PublishingProgress | None:
    checkpoint = await PUBLISHING.of(db).find_one({"_id": request_id})
    if checkpoint is None:
        return None
    return PublishingProgress(
        checkpoint["rows_total"],
        checkpoint["rows_published"],
        checkpoint["done"],
        checkpoint["progressed_at"],
    )


async def _claim_takeover(
    db: AsyncDatabase[Document], request_id: str, takeover: int, now: datetime, lease_s: float
) -> int | None:
    """Insert the claim of takeover number `takeover` (or a later one); None if another gateway
    holds a live claim. A claim older than the lease belongs to a gateway that died before it
    could record its takeover, so the next number is tried."""
    while True:
        try:
            await PUBLISHING_CLAIMS.of(db).insert_one({"_id": f"{request_id}/{takeover}", "at": now})
            return takeover
        except DuplicateKeyError:
            existing = await PUBLISHING_CLAIMS.of(db).find_one({"_id": f"{request_id}/{takeover}"})
            if existing is not None and existing["at"] >= now - timedelta(seconds=lease_s):
                return None
            takeover += 1


async def claim_stale_publishing(db: AsyncDatabase[Document], lease_s: float) -> list[str]:
    """Claim unfinished requests whose rows are not all published and whose publisher stopped
    checkpointing.

    Of several gateways exactly one wins a claim: the n-th takeover of a request inserts the
    document `"<request_id>/<n>"` of `publishing_claims`, and the unique `_id` refuses the others.
    A checkpoint without a request is what an upload refused mid-way leaves behind: its rows must
    not be published, so it is dropped.
    """
    now = datetime.now(UTC)
    claimed = []
    for request_id in await unfinished_request_ids(db):
        checkpoint = await PUBLISHING.of(db).find_one({"_id": request_id})
        if (
            checkpoint is None
            or checkpoint["done"]
            or checkpoint["heartbeat"] >= now - timedelta(seconds=lease_s)
        ):
            continue
        if await REQUESTS.of(db).find_one({"_id": request_id}, {"_id": 1}) is None:
            await PUBLISHING.of(db).delete_one({"_id": request_id})
            await unmark_unfinished(db, request_id)
            continue
        takeover = await _claim_takeover(db, request_id, checkpoint.get("takeovers", 0) + 1, now, lease_s)
        if takeover is None:
            continue  # another gateway claimed it
        await PUBLISHING.of(db).update_one(
            {"_id": request_id}, {"$set": {"heartbeat": now, "takeovers": takeover}}
        )
        claimed.append(request_id)
    return claimed
