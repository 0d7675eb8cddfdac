"""imgpipe.state.row_outcomes: a row's outcome and a chunk's rows survive their trip through JSON strings."""

from __future__ import annotations

from imgpipe.contract.messages import ImageOutcome
from imgpipe.state.row_outcomes import (
    ROWS_PER_CHUNK,
    RowOutcome,
    RowOutcomes,
    RowState,
    chunk_id,
    chunk_of,
    chunk_rows,
    decode_chunk,
    encode_chunk,
    outcome_of,
    row_document,
)

ROWS: RowOutcomes = {
    7: RowOutcome(
        status=RowState.DONE,
        error=None,
        images=[ImageOutcome(input_url="https://a/1.jpg", output_url="http://o/1.jpg")],
        worker_id="w1",
        result_offset=41,
        finished_at="2026-11-28T12:29:59+00:00",
    ),
    3: RowOutcome(
        status=RowState.FAILED,
        error="undecodable row message",
        images=[],
        worker_id="w2",
        result_offset=40,
        finished_at="2026-11-28T12:30:00+00:00",
    ),
}


def test_a_chunk_round_trips() -> None:
    assert decode_chunk(encode_chunk(ROWS)) == ROWS


def test_a_row_document_is_keyed_by_its_row_and_reads_back_as_its_chunk_does() -> None:
    documents = {row: row_document("req", row, outcome) for row, outcome in ROWS.items()}
    assert [document["_id"] for document in documents.values()] == ["req:7", "req:3"]
    assert {row: outcome_of(document) for row, document in documents.items()} == ROWS


def test_chunks_cover_the_rows_once_and_the_last_one_is_short() -> None:
    rows_total = 2 * ROWS_PER_CHUNK + 7
    covered = [row for chunk in range(3) for row in chunk_rows(chunk, rows_total)]
    assert covered == list(range(rows_total))
    assert [chunk_of(row) for row in (0, ROWS_PER_CHUNK - 1, ROWS_PER_CHUNK, rows_total - 1)] == [0, 0, 1, 2]
    assert chunk_id("req", 2) == "req/2"
