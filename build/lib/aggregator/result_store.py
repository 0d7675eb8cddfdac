"""The aggregator's MongoDB writes: rows stored first-writer-wins, counters moved exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from aggregator.tally import OffsetResult, row_id, tally_new_results
from imgpipe.database import REQUESTS, ROWS, Document
from imgpipe.messages import RequestStatus

_DUPLICATE_KEY = 11000


def row_document(item: OffsetResult, now: datetime) -> Document:
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
    """Insert each row; a row that exists already is left as it is (the first writer wins).
    Return each row's finishing offset.

    Plain inserts, not upserts: FerretDB's SQLite backend finds an upsert's target by scanning
    the collection, which made large requests quadratic; an insert hits the primary key.
    """
    now = datetime.now(UTC)
    documents = [{"_id": row_id(i.result.request_id, i.result.row), **row_document(i, now)} for i in items]
    finishing_offsets = {document["_id"]: document["result_offset"] for document in documents}
    try:
        await db[ROWS].insert_many(documents, ordered=False)
        return finishing_offsets
    except BulkWriteError as error:
        write_errors = error.details["writeErrors"]
        if any(e["code"] != _DUPLICATE_KEY for e in write_errors):
            raise
        existing = {documents[e["index"]]["_id"] for e in write_errors}
    # Rows finished earlier (a duplicate or a redelivered result): what counts is who finished
    # them. One query for all of them: this path is rare (after a crash), and per-row reads made
    # a large redelivery crawl on FerretDB.
    cursor = db[ROWS].find({"_id": {"$in": sorted(existing)}}, {"result_offset": 1})
    async for stored in cursor:
        finishing_offsets[stored["_id"]] = stored["result_offset"]
    return finishing_offsets


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
