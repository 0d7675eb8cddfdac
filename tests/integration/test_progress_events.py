"""GET /status/{id}/events streams the request's status as it changes and ends when it finishes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.conftest import API_KEYS
from tests.support.helpers import product_csv, upload
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration


def _status_events(url: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every `status` event of the stream, read until the server ends it."""
    events, event_type = [], None
    with httpx.stream("GET", url, headers=headers, timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                event_type = line.removeprefix("event: ")
            elif line.startswith("data: "):
                assert event_type == "status"
                events.append(json.loads(line.removeprefix("data: ")))
    return events


def test_events_follow_a_request_to_completion(stack: RunningStack, image_server: LocalHttpServer) -> None:
    # Slow images, so that the rows finish over a couple of seconds and progress is visible.
    rows = [
        (
            str(n + 1),
            f"Lamp {n}",
            [image_server.add(f"/sse/{n}.jpg", Resource(photo_like_image(60, 40, seed=n), delay_s=0.4 * n))],
        )
        for n in range(6)
    ]
    response = upload(stack.base_url, product_csv(rows))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]

    events = _status_events(f"{stack.base_url}/status/{request_id}/events")

    final = events[-1]
    assert final["status"] == "completed"
    assert final["rows"] == {"total": 6, "done": 6, "failed": 0}
    assert final["images"] == {"total": 6, "done": 6, "failed": 0}
    assert final["download_url"].endswith(f"/download/{request_id}")
    assert final == httpx.get(f"{stack.base_url}/status/{request_id}").json() | {
        "updated_at": final["updated_at"],
        "stalled": False,
    }
    done_counts = [event["rows"]["done"] for event in events]
    assert len(events) >= 3, events  # several steps seen, not only the end
    assert done_counts == sorted(done_counts)
    assert all(event["status"] in ("queued", "processing") for event in events[:-1])


def test_events_of_an_unknown_request_are_a_404(stack: RunningStack) -> None:
    response = httpx.get(f"{stack.base_url}/status/6f1c1e36-1d62-4f3b-9d7e-5c3e1d2b7a90/events")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_events_follow_the_api_key_rule(keyed_gateway: str, image_server: LocalHttpServer) -> None:
    alice, bob = API_KEYS
    url = image_server.add("/sse/keyed.jpg", Resource(photo_like_image(40, 30, seed=9)))
    response = httpx.post(
        f"{keyed_gateway}/upload",
        files={"file": ("p.csv", product_csv([("1", "A", [url])]).encode(), "text/csv")},
        headers={"X-API-Key": alice},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    events_url = f"{keyed_gateway}/status/{response.json()['request_id']}/events"

    assert httpx.get(events_url).status_code == 401
    assert httpx.get(events_url, headers={"X-API-Key": bob}).status_code == 404
    assert _status_events(events_url, headers={"X-API-Key": alice})[-1]["status"] == "completed"
