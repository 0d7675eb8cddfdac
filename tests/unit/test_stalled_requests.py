"""aggregator.repair.stalled_requests: which unfinished requests are repaired, and when none are."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aggregator.repair import stalled_requests
from imgpipe.state.database import PublishingDocument, RequestDocument
from imgpipe.state.request_state import initial_state
from imgpipe.state.unfinished_requests import UnfinishedRequest

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STALL_S = 60.0


def _unfinished(
    request_id: str, idle_s: float, published: bool = True, repaired_s_ago: float | None = None
) -> UnfinishedRequest:
    state = replace(
        initial_state(NOW - timedelta(seconds=idle_s)),
        repaired_at=None if repaired_s_ago is None else NOW - timedelta(seconds=repaired_s_ago),
    )
    request = RequestDocument(
        _id=request_id,
        rows_total=10,
        images_total=10,
        webhook_url=None,
        owner=None,
        quality=80,
        created_at=NOW - timedelta(hours=1),
        state_version=0,
    )
    return UnfinishedRequest(
        request, state, _publishing(request_id, published, NOW - timedelta(seconds=idle_s))
    )


def _publishing(request_id: str, done: bool, progressed_at: datetime) -> PublishingDocument:
    return PublishingDocument(
        _id=request_id,
        rows_total=10,
        rows_published=10 if done else 5,
        done=done,
        heartbeat=progressed_at,
        progressed_at=progressed_at,
    )


def _ids(items: list[UnfinishedRequest]) -> list[str]:
    return [item.request["_id"] for item in items]


def test_requests_idle_longer_than_the_stall_time_are_stalled() -> None:
    unfinished = [_unfinished("a", idle_s=61), _unfinished("b", idle_s=300)]
    assert _ids(stalled_requests(unfinished, STALL_S, NOW)) == ["a", "b"]


def test_nothing_is_stalled_while_any_request_progresses() -> None:
    unfinished = [_unfinished("a", idle_s=300), _unfinished("busy", idle_s=5)]
    assert stalled_requests(unfinished, STALL_S, NOW) == []


def test_a_request_still_being_published_is_not_stalled() -> None:
    assert stalled_requests([_unfinished("a", idle_s=300, published=False)], STALL_S, NOW) == []


def test_a_request_repaired_within_the_stall_time_is_left_alone() -> None:
    unfinished = [
        _unfinished("recent", idle_s=300, repaired_s_ago=30),
        _unfinished("old", idle_s=300, repaired_s_ago=90),
    ]
    assert _ids(stalled_requests(unfinished, STALL_S, NOW)) == ["old"]


def test_publishing_counts_as_progress() -> None:
    item = _unfinished("a", idle_s=300)
    publishing_now = UnfinishedRequest(item.request, item.state, _publishing("a", True, NOW))
    assert stalled_requests([publishing_now], STALL_S, NOW) == []
