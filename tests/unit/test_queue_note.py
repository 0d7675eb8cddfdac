"""cli.queue_note: the line `imgpipe status` and `submit --wait` show while a request runs."""

from __future__ import annotations

from datetime import UTC, datetime

from cli.queue_note import queue_note, time_left

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_time_left_is_rounded_to_what_a_person_would_say() -> None:
    assert [time_left(s) for s in (0.2, 41.3, 89, 90, 150, 5399, 5400, 9000)] == [
        "1 s",
        "42 s",
        "89 s",
        "2 min",
        "2 min",
        "90 min",
        "1.5 h",
        "2.5 h",
    ]


def test_the_note_names_what_is_known() -> None:
    queue = {"rows_ahead": 48, "rows_waiting": 19_950, "estimated_finish_at": "2026-12-05T12:02:00Z"}
    assert queue_note(queue, NOW) == "48 rows ahead · 19,950 rows not started · about 2 min left"
    starting = {"rows_ahead": 64, "rows_waiting": 0, "estimated_finish_at": None}
    assert queue_note(starting, NOW) == "64 rows ahead"
    assert queue_note(None, NOW) is None
