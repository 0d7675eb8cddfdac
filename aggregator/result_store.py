"""The aggregator's MongoDB writes of results: rows stored first-writer-wins, counters moved exactly once.

Rows go into their chunk documents (imgpipe/row_outcomes.py), then the counters move by one new
version of the request's state (imgpipe/request_state.py): every write is to one `_id`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from aggregator.tally import OffsetResult, row_id, tally_new_results
from imgpipe.database import ROW_OUTCOMES, Document
from imgpipe.messages import RequestStatus
from imgpipe.request_state import RequestState, StateStep, advance_state
from imgpipe.row_outcomes import chunk_id, chunk_of, read_chunk


def row_outcome(item: OffsetResult, now: datetime) -> Document:
    result = item.result
    return {
        "status": "failed" if result.failed else "done",
        "error": result.error,
        "images": [image.model_dump(mode="json") for image in result.images],
        "worker_id": result.worker_id,
        "result_offset": item.offset,
        "finished_at": now,
    }


async def _store_chunk(
    db: AsyncDatabase[Document], request_id: str, chunk: int, items: Sequence[OffsetResult], now: datetime
) -> dict[int, int]:
    """Add the rows of one chunk that are not stored yet; return each row's finishing offset.

    The chunk is read, then only its new rows are set: a row stored earlier keeps its first
    result. The owner of a request's results partition is the only writer of its chunks, and
    it handles one batch at a time.
    """
    stored = await read_chunk(db, request_id, chunk)
    finishing = {row: outcome["result_offset"] for row, outcome in stored.items()}
    new_rows: dict[str, Document] = {}
    for item in items:
        if item.result.row not in finishing:
            finishing[item.result.row] = item.offset
            new_rows[str(item.result.row)] = row_outcome(item, now)
    if not new_rows:
        return finishing
    if not stored:
        try:
            await db[ROW_OUTCOMES].insert_one({"_id": chunk_id(request_id, chunk), "rows": new_rows})
            return finishing
        except DuplicateKeyError:
            # Written since it was read (a rebalance handed the partition over mid-batch).
            return await _store_chunk(db, request_id, chunk, items, now)
    await db[ROW_OUTCOMES].update_one(
        {"_id": chunk_id(request_id, chunk)},
        {"$set": {f"rows.{row}": outcome for row, outcome in new_rows.items()}},
    )
    return finishing


async def store_rows(
    db: AsyncDatabase[Document], request_id: str, items: Sequence[OffsetResult]
) -> dict[str, int]:
    """Store each row's first result; return each row's finishing offset, by row id."""
    now = datetime.now(UTC)
    by_chunk: defaultdict[int, list[OffsetResult]] = defaultdict(list)
    for item in items:
        by_chunk[chunk_of(item.result.row)].append(item)
    finishing_offsets: dict[str, int] = {}
    for chunk, chunk_items in by_chunk.items():
        for row, offset in (await _store_chunk(db, request_id, chunk, chunk_items, now)).items():
            finishing_offsets[row_id(request_id, row)] = offset
    return finishing_offsets


def _counted(items: Sequence[OffsetResult], finishing_offsets: dict[str, int]) -> StateStep:
    highest_offset = max(item.offset for item in items)

    def step(head: RequestState) -> RequestState | None:
        if head.finished or head.results_offset >= highest_offset:
            return None  # counted already (a redelivery), or nothing left to count
        tally = tally_new_results(items, finishing_offsets, head.results_offset)
        return replace(
            head,
            status=RequestStatus.PROCESSING,
            rows_done=head.rows_done + tally.rows_done,
            rows_failed=head.rows_failed + tally.rows_failed,
            images_done=head.images_done + tally.images_done,
            images_failed=head.images_failed + tally.images_failed,
            results_offset=highest_offset,
            updated_at=datetime.now(UTC),
        )

    return step


async def apply_results(
    db: AsyncDatabase[Document], request_id: str, head: RequestState, items: Sequence[OffsetResult]
) -> RequestState:
    """Record one request's results; return its state as it now stands."""
    finishing_offsets = await store_rows(db, request_id, items)
    return await advance_state(db, request_id, head, _counted(items, finishing_offsets))
