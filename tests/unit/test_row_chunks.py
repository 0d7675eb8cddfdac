"""imgpipe.row_outcomes: a chunk's rows survive their trip through one JSON string."""

from __future__ import annotations

from datetime import UTC, datetime

from imgpipe.row_outcomes import ROWS_PER_CHUNK, chunk_id, chunk_of, chunk_rows, decode_chunk, encode_chunk


def test_a_chunk_round_trips_without_the_rows_own_ids() -> None:
    finished_at = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
    rows = {
        7: {
            "_id": "r:7",
            "status": "done",
            "images": [{"input_url": "https://a/1.jpg", "output_url": "http://o/1.jpg"}],
        },
        3: {"_id": "r:3", "status": "failed", "error": None, "finished_at": finished_at, "images": []},
    }
    decoded = decode_chunk(encode_chunk(rows))
    assert decoded == {
        3: {"status": "failed", "error": None, "finished_at": "2026-11-28T12:30:00+00:00", "images": []},
        7: {"status": "done", "images": [{"input_url": "https://a/1.jpg", "output_url": "http://o/1.jpg"}]},
    }


def test_chunks_cover_the_rows_once_and_the_last_one_is_short() -> None:
    rows_total = 2 * ROWS_PER_CHUNK + 7
    covered = [row for chunk in range(3) for row in chunk_rows(chunk, rows_total)]
    assert covered == list(range(rows_total))
    assert [chunk_of(row) for row in (0, ROWS_PER_CHUNK - 1, ROWS_PER_CHUNK, rows_total - 1)] == [0, 0, 1, 2]
    assert chunk_id("req", 2) == "req/2"
