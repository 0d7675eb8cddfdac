"""GET /status/{id}?rows=true pages: first, middle and last page, past the end. (Bad pages: in-process,
in tests/api/test_bad_requests.py.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

ROWS = 1_234


@pytest.fixture(scope="module")
def paged_request(stack: RunningStack, image_server: LocalHttpServer) -> str:
    image = image_server.add("/pages/a.jpg", Resource(photo_like_image(24, 16, seed=5), "image/jpeg"))
    rows = [(str(n + 1), f"Paged {n}", [image]) for n in range(ROWS)]
    response = upload(stack.base_url, product_csv(rows))
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    assert wait_finished(stack.base_url, request_id, timeout_s=300)["status"] == "completed"
    return request_id


def _page(stack: RunningStack, request_id: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{stack.base_url}/status/{request_id}", params={"rows": "true", **params}, timeout=30)


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, 500, range(0, 500)),
        (500, 500, range(500, 1000)),
        (1000, 500, range(1000, ROWS)),
        (617, 3, range(617, 620)),
    ],
)
def test_a_page_holds_its_rows_in_input_order(
    stack: RunningStack, paged_request: str, offset: int, limit: int, expected: range
) -> None:
    body = _page(stack, paged_request, offset=offset, limit=limit).json()
    assert [row["row"] for row in body["row_details"]] == list(expected)
    assert [row["serial_number"] for row in body["row_details"]] == [str(n + 1) for n in expected]
    assert all(row["status"] == "done" and row["images"][0]["output_url"] for row in body["row_details"])
    next_offset = expected.stop
    assert body["row_page"] == {
        "offset": offset,
        "limit": limit,
        "total": ROWS,
        "next_url": (
            f"{stack.base_url}/status/{paged_request}?rows=true&offset={next_offset}&limit={limit}"
            if next_offset < ROWS
            else None
        ),
    }


def test_following_next_url_walks_every_row_once(stack: RunningStack, paged_request: str) -> None:
    seen: list[int] = []
    url: str | None = f"{stack.base_url}/status/{paged_request}?rows=true&limit=400"
    while url:
        body = httpx.get(url, timeout=30).json()
        seen.extend(row["row"] for row in body["row_details"])
        url = body["row_page"]["next_url"]
    assert seen == list(range(ROWS))


def test_the_default_page_is_the_first_500_rows(stack: RunningStack, paged_request: str) -> None:
    body = _page(stack, paged_request).json()
    assert len(body["row_details"]) == 500 and body["row_page"]["offset"] == 0


def test_a_page_past_the_end_is_empty(stack: RunningStack, paged_request: str) -> None:
    body = _page(stack, paged_request, offset=ROWS + 10).json()
    assert body["row_details"] == []
    assert body["row_page"] == {"offset": ROWS + 10, "limit": 500, "total": ROWS, "next_url": None}


def test_without_rows_there_is_no_page(stack: RunningStack, paged_request: str) -> None:
    body = httpx.get(f"{stack.base_url}/status/{paged_request}").json()
    assert body["row_details"] is None and body["row_page"] is None
