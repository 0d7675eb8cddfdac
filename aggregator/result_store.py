"""The aggregator's MongoDB writes: rows upserted first-writer-wins, counters moved exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from aggregator.tally import OffsetResult, row_id, tally_new_results
from aggregator.webhook import DeliveryAttempt
from imgpipe.database import REQUESTS, ROWS, Document
from imgpipe.messages import RequestStatus


def _row_document(item: OffsetResult, now: datetime) -> Document:
    result = item.result
    return {
        "request_id": result.request_id,
        "row": result.row,
        "status": "failed" if result.failed else "done",
        "error": result.error,
        "images": [image.model_dump(mode="json") for image in result.images],
        "worker_id": result.worker_id,
        "result_offset": item.offset,
        "finished_at": now,
    }


async def _store_rows(db: AsyncDatabase[Document], items: Sequence[OffsetResult]) -> dict[str, int]:
    """Upsert each row (an existing row is left as it is); return each row's finishing offset."""
    now = datetime.now(UTC)
    ids = [row_id(i.result.request_id, i.result.row) for i in items]
    await db[ROWS].bulk_write(
        [
            UpdateOne({"_id": rid}, {"$setOnInsert": _row_document(item, now)}, upsert=True)
            for rid, item in zip(ids, items, strict=True)
        ],
        ordered=False,
    )
    cursor = db[ROWS].find({"_id": {"$in": ids}}, {"result_offset": 1})
    return {row["_id"]: row["result_offset"] async for row in cursor}


async def apply_results(
    db: AsyncDatabase[Document], request_id: str, items: Sequence[OffsetResult]
) -> Document | None:
    """Record one request's results; return the request as it now stands (None if unknown)."""
    finishing_offsets = await _store_rows(db, items)
    highest_offset = max(item.offset for item in items)
    while True:
        request = await db[REQUESTS].find_one({"_id": request_id})
        if request is None:
            return None
        counted_offset = request["results_offset"]
        tally = tally_new_results(items, finishing_offsets, counted_offset)
        changes: Document = {
            "results_offset": max(counted_offset, highest_offset),
            "updated_at": datetime.now(UTC),
        }
        if request["status"] == RequestStatus.QUEUED:
            changes["status"] = RequestStatus.PROCESSING.value
        increments = tally.as_increments()
        # The filter on the counted mark makes this a compare-and-set: if another aggregator
        # instance (during a rebalance) moved it meanwhile, re-read and count again.
        updated = await db[REQUESTS].update_one(
            {"_id": request_id, "results_offset": counted_offset},
            {"$set": changes, "$inc": increments},
        )
        if updated.matched_count:
            for field, increment in increments.items():
                request[field] += increment
            request.update(changes)
            return request


async def finished_row_outputs(db: AsyncDatabase[Document], request_id: str) -> dict[int, list[str | None]]:
    """Each finished row's output URLs, in input order within the row."""
    cursor = db[ROWS].find({"request_id": request_id}, {"row": 1, "images.output_url": 1})
    return {row["row"]: [image.get("output_url") for image in row["images"]] async for row in cursor}


async def mark_finished(
    db: AsyncDatabase[Document], request_id: str, status: RequestStatus, completed_at: datetime
) -> None:
    await db[REQUESTS].update_one(
        {"_id": request_id},
        {
            "$set": {
                "status": status.value,
                "completed_at": completed_at,
                "updated_at": completed_at,
            }
        },
    )


async def webhook_target(db: AsyncDatabase[Document], request_id: str) -> str | None:
    """The webhook URL still to be delivered to, or None (none given, or already delivered)."""
    request = await db[REQUESTS].find_one({"_id": request_id}, {"webhook_url": 1, "webhook_status": 1})
    if request is None or request.get("webhook_status") == "delivered":
        return None
    url: str | None = request.get("webhook_url")
    return url


async def record_webhook_attempt(
    db: AsyncDatabase[Document], request_id: str, attempt: DeliveryAttempt, final: bool
) -> None:
    status = "delivered" if attempt.succeeded else ("failed" if final else "retrying")
    await db[REQUESTS].update_one(
        {"_id": request_id},
        {
            "$push": {"webhook_deliveries": asdict(attempt)},
            "$set": {"webhook_status": status},
        },
    )
