"""Finished rows: one insert-only document per row, and a compacted copy per chunk of rows.

FerretDB rewrites a whole document on every update, so a document that grows row by row costs
in proportion to its size at every batch (measured: a 500-row document updated ten rows at a
time stores about 140 rows/s). So a row is stored once, as its own document
`"<request_id>:<row>"` in `row_outcomes`, inserted by the aggregator (the first result wins:
the `_id` is unique). Once all the rows of a chunk are stored, the aggregator also inserts them
together as one document `"<request_id>/<chunk>"` in `row_chunks`, so that reading a run of
rows is one `_id` read per `ROWS_PER_CHUNK` rows. A chunk that was never compacted (its rows
were stored across an aggregator restart) is read row by row.

A row's outcome, and a chunk's rows, are one JSON string, not nested documents: FerretDB
converts every field between BSON and its own types on each write and read. Measured on this
machine: 500 nested rows read in 150 ms against 9 ms as one string, and rows of one image
inserted with 67 µs of FerretDB's CPU each as nested documents against 25 µs as strings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.contract.messages import ImageOutcome
from imgpipe.contract.row_key import RowKey
from imgpipe.state.database import ROW_CHUNKS, ROW_OUTCOMES, Document, RowOutcomeDocument

# 500 rows of one image are about 150 KB: the largest page of row details (5,000 rows) is ten
# reads, and a million-row request's output CSV two thousand.
ROWS_PER_CHUNK = 500


class RowState(StrEnum):
    """Where a CSV row stands: stored and answered (GET /status's row details) as these strings."""

    PENDING = "pending"  # no result yet: answered, never stored
    DONE = "done"  # every image has an output
    FAILED = "failed"  # at least one image has none, or the row message went to the DLQ


class RowOutcome(BaseModel):
    """A finished row, as the aggregator stored it (aggregator/result_store.py)."""

    model_config = ConfigDict(frozen=True)

    status: Literal[RowState.DONE, RowState.FAILED]
    error: str | None  # why the row message could not be processed (it went to the DLQ)
    images: list[ImageOutcome]  # in input order
    worker_id: str
    result_offset: int  # the imgpipe.results offset of the result that finished the row
    finished_at: str  # ISO 8601


RowOutcomes = dict[int, RowOutcome]
# A chunk's rows as one JSON object, by row number (JSON's keys are strings).
_CHUNK = TypeAdapter(RowOutcomes)


def row_document(request_id: str, row: int, outcome: RowOutcome) -> RowOutcomeDocument:
    """The `row_outcomes` document of one finished row."""
    return RowOutcomeDocument(_id=str(RowKey(request_id, row)), outcome=outcome.model_dump_json())


def outcome_of(document: RowOutcomeDocument) -> RowOutcome:
    return RowOutcome.model_validate_json(document["outcome"])


def encode_chunk(rows: RowOutcomes) -> str:
    """The chunk's rows as one JSON string."""
    return _CHUNK.dump_json(dict(sorted(rows.items()))).decode()


def decode_chunk(text: str) -> RowOutcomes:
    return _CHUNK.validate_json(text)


def chunk_of(row: int) -> int:
    return row // ROWS_PER_CHUNK


def chunk_id(request_id: str, chunk: int) -> str:
    return f"{request_id}/{chunk}"


def chunk_rows(chunk: int, rows_total: int) -> range:
    return range(chunk * ROWS_PER_CHUNK, min((chunk + 1) * ROWS_PER_CHUNK, rows_total))


async def read_row_by_row(db: AsyncDatabase[Document], request_id: str, rows: Sequence[int]) -> RowOutcomes:
    """The finished rows among `rows`, one `_id` read each (concurrently)."""
    found = await asyncio.gather(
        *(ROW_OUTCOMES.of(db).find_one({"_id": str(RowKey(request_id, row))}) for row in rows)
    )
    return {
        row: outcome_of(document) for row, document in zip(rows, found, strict=True) if document is not None
    }


async def read_rows(db: AsyncDatabase[Document], request_id: str, start: int, stop: int) -> RowOutcomes:
    """The finished rows among rows `start` to `stop - 1`."""
    outcomes: RowOutcomes = {}
    if start >= stop:
        return outcomes
    for chunk in range(chunk_of(start), chunk_of(stop - 1) + 1):
        wanted = range(max(start, chunk * ROWS_PER_CHUNK), min(stop, (chunk + 1) * ROWS_PER_CHUNK))
        compacted = await ROW_CHUNKS.of(db).find_one({"_id": chunk_id(request_id, chunk)})
        if compacted is None:
            outcomes.update(await read_row_by_row(db, request_id, wanted))
        else:
            chunk_outcomes = decode_chunk(compacted["rows"])
            outcomes.update((row, chunk_outcomes[row]) for row in wanted)
    return outcomes


async def chunks_in_order(
    db: AsyncDatabase[Document], request_id: str, rows_total: int
) -> AsyncIterator[tuple[range, RowOutcomes]]:
    """Every chunk of a request in row order, with the rows it spans: memory for one chunk only."""
    for chunk in range(chunk_of(rows_total - 1) + 1 if rows_total else 0):
        rows = chunk_rows(chunk, rows_total)
        yield rows, await read_rows(db, request_id, rows.start, rows.stop)
