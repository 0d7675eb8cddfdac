"""The aggregator's MongoDB writes of results: rows stored first-writer-wins, counters moved exactly once.

Each row is inserted as its own document (imgpipe/state/row_outcomes.py), then the counters move by
one new version of the request's state (imgpipe/state/request_state.py): every write is an insert.
Rows are also gathered in memory by chunk, and a chunk whose rows are all stored is inserted as
one document, so that reading rows back is one `_id` read per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from aggregator.tally import OffsetResult, tally_new_results
from imgpipe.contract.messages import RequestStatus
from imgpipe.contract.row_key import RowKey
from imgpipe.state.database import (
    ROW_CHUNKS,
    ROW_OUTCOMES,
    Document,
    RequestDocument,
    RowChunkDocument,
    taken_positions,
)
from imgpipe.state.request_state import RequestState, StateStep, advance_state, with_counters
from imgpipe.state.row_outcomes import (
    RowOutcome,
    RowOutcomes,
    RowState,
    chunk_id,
    chunk_of,
    chunk_rows,
    encode_chunk,
    read_row_by_row,
    row_document,
)

# Chunks being gathered at once. Rows finish roughly in input order, so a request has a few
# chunks open at a time; past this many (about 30 MB), the oldest is dropped and its rows are
# read one by one when needed.
OPEN_CHUNKS = 200


def row_outcome(item: OffsetResult, finished_at: str) -> RowOutcome:
    result = item.result
    return RowOutcome(
        status=RowState.FAILED if result.failed else RowState.DONE,
        error=result.error,
        images=result.images,
        worker_id=result.worker_id,
        result_offset=item.offset,
        finished_at=finished_at,
    )


async def store_rows(
    db: AsyncDatabase[Document], request_id: str, items: Sequence[OffsetResult]
) -> RowOutcomes:
    """Insert each row; a row that exists already is left as it is (the first writer wins).
    Return each row's stored outcome, whoever stored it."""
    # ISO 8601 text: an outcome is plain JSON, in memory as in the database.
    finished_at = datetime.now(UTC).isoformat()
    stored: RowOutcomes = {}
    for item in items:  # within a batch too, the first result for a row wins
        stored.setdefault(item.result.row, row_outcome(item, finished_at))
    rows = list(stored)
    documents = [row_document(request_id, row, stored[row]) for row in rows]
    try:
        await ROW_OUTCOMES.of(db).insert_many(documents, ordered=False)
        return stored
    except BulkWriteError as error:
        existing = [rows[position] for position in taken_positions(error)]
    # Rows finished earlier (a duplicate or a redelivered result): what counts is who finished
    # them. Read one by one: this path is rare (after a crash), and an `$in` makes FerretDB
    # decode the whole collection.
    stored.update(await read_row_by_row(db, request_id, existing))
    return stored


class ChunkCompactor:
    """Gathers each chunk's stored rows, and inserts the chunk once all of them are in."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, RowOutcomes] = OrderedDict()

    async def add(
        self, db: AsyncDatabase[Document], request_id: str, rows_total: int, stored: RowOutcomes
    ) -> None:
        for row, outcome in stored.items():
            chunk = chunk_of(row)
            key = chunk_id(request_id, chunk)
            gathered = self._open.setdefault(key, {})
            gathered[row] = outcome
            if len(gathered) == len(chunk_rows(chunk, rows_total)):
                del self._open[key]
                await _insert_chunk(db, key, gathered)
        while len(self._open) > OPEN_CHUNKS:
            self._open.popitem(last=False)


async def _insert_chunk(db: AsyncDatabase[Document], key: str, rows: RowOutcomes) -> None:
    document = RowChunkDocument(_id=key, rows=encode_chunk(rows))
    # A duplicate: compacted already (the batch is being handled again after an outage).
    with contextlib.suppress(DuplicateKeyError):
        await ROW_CHUNKS.of(db).insert_one(document)


def _counted(items: Sequence[OffsetResult], stored: RowOutcomes, request_id: str) -> StateStep:
    highest_offset = max(item.offset for item in items)
    finishing_offsets = {RowKey(request_id, row): outcome.result_offset for row, outcome in stored.items()}

    def step(head: RequestState) -> RequestState | None:
        if head.finished or head.results_offset >= highest_offset:
            return None  # counted already (a redelivery), or nothing left to count
        tally = tally_new_results(items, finishing_offsets, head.results_offset)
        return with_counters(
            head,
            head + tally,
            status=RequestStatus.PROCESSING,
            results_offset=highest_offset,
            updated_at=datetime.now(UTC),
        )

    return step


async def apply_results(
    db: AsyncDatabase[Document],
    request: RequestDocument,
    head: RequestState,
    items: Sequence[OffsetResult],
    compactor: ChunkCompactor,
) -> RequestState:
    """Record one request's results; return its state as it now stands."""
    request_id = request["_id"]
    stored = await store_rows(db, request_id, items)
    # Both need only the stored rows: at once, so a batch waits for one round trip, not two.
    _, state = await asyncio.gather(
        compactor.add(db, request_id, request["rows_total"], stored),
        advance_state(db, request_id, head, _counted(items, stored, request_id)),
    )
    return state
