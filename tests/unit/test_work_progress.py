"""gateway.publishing.work_progress: rows ahead, the pace of a request, its estimated finish, and
owners' rows."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from gateway.api.owner_metrics import owner_rows_exposition
from gateway.publishing.work_progress import (
    RATE_WINDOW_S,
    OwnerRows,
    RequestProgress,
    WorkProgress,
    finish_rate,
    rows_newly_finished,
    seconds_to_finish,
)

START = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _progress(
    request_id: str, owner: str | None, total: int, published: int, finished: int
) -> RequestProgress:
    return RequestProgress(request_id, owner, total, published, finished)


def test_a_rate_needs_two_samples_apart_in_time() -> None:
    assert finish_rate([]) is None
    assert finish_rate([(10.0, 5)]) is None
    assert finish_rate([(10.0, 5), (10.0, 9)]) is None
    assert finish_rate([(10.0, 5), (11.0, 9), (14.0, 25)]) == 5.0


def test_no_estimate_while_nothing_finishes() -> None:
    assert seconds_to_finish(100, None) is None
    assert seconds_to_finish(100, 0.0) is None
    assert seconds_to_finish(100, 4.0) == 25.0


def test_rows_newly_finished_counts_a_request_gone_from_the_walk_as_all_done() -> None:
    before = _progress("a", None, 10, 10, 4)
    assert rows_newly_finished(None, _progress("a", None, 10, 3, 2)) == 2
    assert rows_newly_finished(before, _progress("a", None, 10, 10, 7)) == 3
    assert rows_newly_finished(before, None) == 6
    # The aggregator's counters never go back; a repair re-reading them must not make this negative.
    assert rows_newly_finished(before, _progress("a", None, 10, 10, 3)) == 0


def test_rows_ahead_are_the_other_requests_rows_in_the_topic() -> None:
    work = WorkProgress(FakeClock())
    work.observe(
        [
            _progress("batch", "alice", 20_000, 64 + 1000, 1000),  # 64 in the topic, 18,936 waiting
            _progress("other", "bob", 500, 40, 30),  # 10 in the topic
            _progress("small", "alice", 1, 1, 0),  # 1 in the topic
        ]
    )
    small = work.queue_position("small")
    assert small is not None
    assert (small.rows_ahead, small.rows_waiting) == (74, 0)
    batch = work.queue_position("batch")
    assert batch is not None
    assert (batch.rows_ahead, batch.rows_waiting) == (11, 18_936)
    assert work.queue_position("unknown") is None


def test_rows_finished_since_the_checkpoint_leave_none_in_the_topic() -> None:
    assert _progress("a", None, 100, 50, 53).rows_published_unfinished == 0


def test_the_estimate_is_the_rows_left_at_the_pace_of_the_last_ten_seconds() -> None:
    clock = FakeClock()
    work = WorkProgress(clock)
    work.observe([_progress("a", None, 1000, 64, 0)])
    position = work.queue_position("a")
    assert position is not None and position.estimated_finish_at is None  # one walk: no pace yet
    # 1 row a second for 5 s, then 10 a second for the whole window: the slow samples leave it.
    finished = 0
    for step in range(1, 6 + int(RATE_WINDOW_S)):
        clock.now += 1.0
        finished += 1 if step <= 5 else 10
        work.observe([_progress("a", None, 1000, finished + 64, finished)])
    position = work.queue_position("a")
    assert position is not None
    left_s = (1000 - finished) / 10.0
    assert position.estimated_finish_at == datetime.fromtimestamp(clock.now + left_s, UTC)


def test_a_request_that_stops_finishing_loses_its_estimate() -> None:
    clock = FakeClock()
    work = WorkProgress(clock)
    for _ in range(12):
        work.observe([_progress("a", None, 100, 64, 10)])
        clock.now += 1.0
    position = work.queue_position("a")
    assert position is not None and position.estimated_finish_at is None


def test_owners_rows_and_a_finished_counter_that_keeps_finished_requests() -> None:
    work = WorkProgress(FakeClock())
    work.observe([_progress("a", "alice", 100, 70, 40), _progress("b", None, 10, 10, 2)])
    assert work.by_owner() == {"alice": OwnerRows(30, 30, 40), None: OwnerRows(0, 8, 2)}
    work.observe([_progress("a", "alice", 100, 100, 90)])  # b finished between the walks
    assert work.by_owner() == {"alice": OwnerRows(0, 10, 90), None: OwnerRows(0, 0, 10)}
    work.observe([])
    assert work.by_owner() == {"alice": OwnerRows(0, 0, 100), None: OwnerRows(0, 0, 10)}


def test_owner_metrics_name_the_open_api_open() -> None:
    text = owner_rows_exposition({"0123456789abcdef": OwnerRows(5, 6, 7), None: OwnerRows(1, 2, 3)}).decode()
    samples = {
        (sample.name, sample.labels["owner"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("imgpipe_key_rows_waiting", "0123456789abcdef")] == 5
    assert samples[("imgpipe_key_rows_in_flight", "0123456789abcdef")] == 6
    assert samples[("imgpipe_key_rows_finished_total", "0123456789abcdef")] == 7
    assert samples[("imgpipe_key_rows_waiting", "open")] == 1
    assert "# TYPE imgpipe_key_rows_finished_total counter" in text
