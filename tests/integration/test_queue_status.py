"""A running request says where it stands (`queue` in GET /status), and /metrics has each owner's rows.

The batch's images are answered after a delay, so that it runs for several seconds whatever this
machine's speed: long enough for the gateway's walks to measure its pace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.helpers import FINISHED, product_csv, upload
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack
from tests.support.worker_metrics import scrape, value

pytestmark = pytest.mark.integration

BATCH_ROWS = 300
# 16 working slots (2 processors x 8) over 0.5 s a fetch: about 32 rows a second, 10 s in all.
FETCH_DELAY_S = 0.5


@dataclass(frozen=True)
class Seen:
    """One status poll while the request ran."""

    at: datetime
    rows_finished: int
    queue: dict[str, Any]


def _batch(image_server: LocalHttpServer) -> str:
    name = f"queue-{time.time_ns()}"
    resource = Resource(photo_like_image(64, 48, seed=13), "image/jpeg", delay_s=FETCH_DELAY_S)
    return product_csv(
        [
            (str(n), f"{name} {n}", [image_server.add(f"/{name}/{n}.jpg", resource)])
            for n in range(1, BATCH_ROWS + 1)
        ]
    )


def _status(base_url: str, request_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/status/{request_id}", timeout=10)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def _first_queue(base_url: str, request_id: str, rows_total: int) -> dict[str, Any]:
    """`queue` once the gateway's walk has seen the request (within about a second) and the
    checkpoint of its publisher (within another)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        queue: dict[str, Any] | None = _status(base_url, request_id)["queue"]
        if queue is not None and queue["rows_waiting"] < rows_total:
            return queue
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} has no queue position with its rows published")


def _follow(base_url: str, request_id: str) -> tuple[list[Seen], dict[str, Any]]:
    """Poll the status until it finishes: what `queue` said at each poll, and the final status."""
    seen: list[Seen] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = _status(base_url, request_id)
        if status["status"] in FINISHED:
            return seen, status
        if status["queue"] is not None:
            rows_finished = status["rows"]["done"] + status["rows"]["failed"]
            seen.append(Seen(datetime.now(UTC), rows_finished, status["queue"]))
        time.sleep(0.25)
    raise AssertionError(f"request {request_id} did not finish")


def test_a_running_request_shows_rows_ahead_rows_waiting_and_an_estimate(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    metrics_url = f"{stack.base_url}/metrics"
    finished_before = value(scrape(metrics_url), "imgpipe_key_rows_finished_total", owner="open")
    response = upload(stack.base_url, _batch(image_server))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    _first_queue(stack.base_url, request_id, BATCH_ROWS)
    # A one-image request uploaded now shares the processors with the batch's window.
    slow = Resource(photo_like_image(32, 24, seed=14), "image/jpeg", delay_s=3.0)
    small = upload(
        stack.base_url, product_csv([("1", "Small", [image_server.add(f"/small-{request_id}.jpg", slow)])])
    )
    small_queue = _first_queue(stack.base_url, small.json()["request_id"], 1)
    assert 0 < small_queue["rows_ahead"] <= stack.settings.scheduled_rows, small_queue
    assert small_queue["rows_waiting"] == 0, small_queue
    running = scrape(metrics_url)
    seen, final = _follow(stack.base_url, request_id)

    assert final["status"] == "completed" and final["queue"] is None
    assert len(seen) >= 5, seen
    # The scheduler holds back what does not fit in the window: rows wait, fewer and fewer.
    waiting = [poll.queue["rows_waiting"] for poll in seen]
    assert waiting[0] > 0 and waiting == sorted(waiting, reverse=True) and waiting[-1] < waiting[0], waiting
    # What it shares the processors with: other requests' rows in the topic, a window at most.
    assert all(0 <= poll.queue["rows_ahead"] <= stack.settings.scheduled_rows for poll in seen), seen
    # Once a quarter has finished the pace is known, and it says when the request finishes.
    completed_at = datetime.fromisoformat(final["completed_at"])
    estimates = [
        datetime.fromisoformat(poll.queue["estimated_finish_at"])
        for poll in seen
        if poll.rows_finished >= BATCH_ROWS // 4 and poll.queue["estimated_finish_at"] is not None
    ]
    assert estimates, seen
    assert all(abs(estimate - completed_at) < timedelta(seconds=10) for estimate in estimates), (
        completed_at,
        estimates,
    )

    # /metrics: the deployment's rows by owner ("open": the API has no keys), from the same walks.
    assert value(running, "imgpipe_key_rows_waiting", owner="open") > 0
    assert 0 < value(running, "imgpipe_key_rows_in_flight", owner="open") <= stack.settings.scheduled_rows
    deadline = time.monotonic() + 10
    while (
        value(scrape(metrics_url), "imgpipe_key_rows_finished_total", owner="open")
        < finished_before + BATCH_ROWS
    ):
        assert time.monotonic() < deadline, "the walks did not count the batch's rows as finished"
        time.sleep(0.5)
