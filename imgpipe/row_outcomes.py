"""Finished rows, stored a chunk of rows per document so that any run of rows is a few `_id` reads.

A request's row number r lives in document `"<request_id>:<r // ROWS_PER_CHUNK>"` of
`row_outcomes`, under `rows["<r>"]`. Only the aggregator that owns the request writes them
(aggregator/result_store.py); the gateway reads pages of them for `?rows=true`, the aggregator
reads them all, one chunk at a time, to write the output CSV and to repair a request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.database import ROW_OUTCOMES, Document

# 500 rows of one image are about 150 KB of BSON: a few chunks per results batch to rewrite,
# and the largest page of row details (5,000 rows) is ten reads.
ROWS_PER_CHUNK = 500

RowOutcomes = dict[int, Document]


def chunk_of(row: int) -> int:
    return row // ROWS_PER_CHUNK


def chunk_id(request_id: str, chunk: int) -> str:
    return f"{request_id}:{chunk}"


async def read_chunk(db: AsyncDatabase[Document], request_id: str, chunk: int) -> RowOutcomes:
    """The finished rows of one chunk, by row number."""
    document = await db[ROW_OUTCOMES].find_one({"_id": chunk_id(request_id, chunk)})
    return {int(row): outcome for row, outcome in document["rows"].items()} if document else {}


async def read_rows(db: AsyncDatabase[Document], request_id: str, start: int, stop: int) -> RowOutcomes:
    """The finished rows among rows `start` to `stop - 1`."""
    outcomes: RowOutcomes = {}
    if start >= stop:
        return outcomes
    for chunk in range(chunk_of(start), chunk_of(stop - 1) + 1):
        outcomes.update(
            (row, outcome)
            for row, outcome in (await read_chunk(db, request_id, chunk)).items()
            if start <= row < stop
        )
    return outcomes


async def chunks_in_order(
    db: AsyncDatabase[Document], request_id: str, rows_total: int
) -> AsyncIterator[tuple[range, RowOutcomes]]:
    """Every chunk of a request in row order, with the rows it spans: memory for one chunk only."""
    for chunk in range(chunk_of(rows_total - 1) + 1 if rows_total else 0):
        rows = range(chunk * ROWS_PER_CHUNK, min((chunk + 1) * ROWS_PER_CHUNK, rows_total))
        yield rows, await read_chunk(db, request_id, chunk)
