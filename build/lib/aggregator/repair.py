"""Repair of stalled requests: the row documents are the truth, the counters are rebuilt from them.

Results are counted incrementally (aggregator/tally.py), which is exact as long as Kafka hands
every message over once in offset order, at least. Should a row message or a result ever go
missing on the way, or an update be undone (FerretDB loses concurrent updates to one document:
see imgpipe/database.py), the request would wait forever. So a request with no progress for
`IMGPIPE_STALL_SECONDS` is repaired: its counters are recomputed from its row documents (one per
finished row, first writer wins), and rows that have no document are published again. Both
steps are idempotent; a repair is logged and counted in the request (`repairs`). Nothing is
repaired while any request makes progress: the pipeline is then busy, not losing work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from aggregator.tally import Tally
from imgpipe.database import PUBLISHING, REQUESTS, ROWS, Document
from imgpipe.messages import UNFINISHED_STATUSES

logger = logging.getLogger(__name__)

RepublishRows = Callable[[str, Sequence[int]], Awaitable[None]]
FinishRequest = Callable[[Document], Awaitable[None]]


def tally_of_rows(rows: Iterable[Document]) -> Tally:
    """The counters that a request's row documents add up to (as aggregator/tally.py counts)."""
    rows_done = rows_failed = images_done = images_failed = 0
    for row in rows:
        failed_images = sum(1 for image in row["images"] if image.get("error") is not None)
        images_failed += failed_images
        images_done += len(row["images"]) - failed_images
        if row["status"] == "failed":
            rows_failed += 1
        else:
            rows_done += 1
    return Tally(rows_done, rows_failed, images_done, images_failed)


async def _anything_progressing(db: AsyncDatabase[Document], cutoff: datetime) -> bool:
    """Results counted or rows published since `cutoff`: the pipeline is busy, not losing work."""
    counting = await db[REQUESTS].find_one(
        {"status": {"$in": UNFINISHED_STATUSES}, "updated_at": {"$gte": cutoff}}, {"_id": 1}
    )
    publishing = await db[PUBLISHING].find_one({"progressed_at": {"$gte": cutoff}}, {"_id": 1})
    return counting is not None or publishing is not None


async def stalled_request_ids(db: AsyncDatabase[Document], stall_seconds: float) -> list[str]:
    """Unfinished requests, fully published, with no progress for `stall_seconds`; none while any
    request makes progress, since a request queued behind a large one only waits its turn."""
    cutoff = datetime.now(UTC) - timedelta(seconds=stall_seconds)
    if await _anything_progressing(db, cutoff):
        return []
    cursor = db[REQUESTS].find(
        {"status": {"$in": UNFINISHED_STATUSES}, "updated_at": {"$lt": cutoff}}, {"_id": 1, "repaired_at": 1}
    )
    # A repaired request is left alone for another stall period: its republished rows need time.
    candidates = [
        request["_id"]
        async for request in cursor
        if request.get("repaired_at") is None or request["repaired_at"] < cutoff
    ]
    if not candidates:
        return []
    # Rows still being published are on their way, not lost.
    published = db[PUBLISHING].find({"_id": {"$in": candidates}, "done": True}, {"_id": 1})
    fully_published = {checkpoint["_id"] async for checkpoint in published}
    return [request_id for request_id in candidates if request_id in fully_published]


async def repair_request(
    db: AsyncDatabase[Document], request_id: str, republish: RepublishRows, finish: FinishRequest
) -> None:
    # The request is read before its rows: the compare-and-set below then fails if results
    # were counted meanwhile, and the next round repairs from fresher rows.
    request = await db[REQUESTS].find_one({"_id": request_id})
    if request is None or request["status"] not in UNFINISHED_STATUSES:
        return
    counted_offset = request["results_offset"]
    rows = [
        row
        async for row in db[ROWS].find(
            {"request_id": request_id}, {"row": 1, "status": 1, "images": 1, "result_offset": 1}
        )
    ]
    tally = tally_of_rows(rows)
    # Every result up to the highest stored one is now reflected in the counters: the results
    # agent skips those (its counted mark), so none is counted twice.
    highest_offset = max([counted_offset, *(row["result_offset"] for row in rows)])
    changes: Document = {
        **tally.as_increments(),
        "results_offset": highest_offset,
        "repaired_at": datetime.now(UTC),
    }
    updated = await db[REQUESTS].update_one(
        {"_id": request_id, "results_offset": counted_offset},
        {"$set": changes, "$inc": {"repairs": 1}},
    )
    if not updated.matched_count:
        return  # results are being counted: not stalled after all
    missing = sorted(set(range(request["rows_total"])) - {row["row"] for row in rows})
    logger.warning(
        "repaired stalled request %s: counters %s -> %s, %d row(s) without a result published again",
        request_id,
        {field: request[field] for field in tally.as_increments()},
        tally.as_increments(),
        len(missing),
    )
    if missing:
        await republish(request_id, missing)
    await finish({**request, **changes})
