"""A small request is not stuck behind a batch, and two keys' batches share the processors.

The batches' images are answered after a delay, so that a batch's pace is set by the image server
and not by this machine's speed: the processors' working slots fill with waiting fetches while the
rest of the batch's window sits in the topic. A request that had to wait behind the whole batch
(first come, first served) would finish only after it.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import API_KEYS
from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

BATCH_ROWS = 400
# 16 working slots (2 processors x 8) over 0.2 s a fetch: about 80 batch rows a second.
FETCH_DELAY_S = 0.2

ALICE = {"X-API-Key": API_KEYS[0]}
BOB = {"X-API-Key": API_KEYS[1]}


def _delayed_rows(image_server: LocalHttpServer, name: str, rows: int) -> str:
    image = photo_like_image(64, 48, seed=11)
    resource = Resource(image, "image/jpeg", delay_s=FETCH_DELAY_S)
    return product_csv(
        [
            (str(n), f"{name} {n}", [image_server.add(f"/{name}/{n}.jpg", resource)])
            for n in range(1, rows + 1)
        ]
    )


def _upload(base_url: str, csv_text: str, headers: dict[str, str] | None) -> str:
    response = upload(base_url, csv_text, headers)
    assert response.status_code == 202, response.text
    return str(response.json()["request_id"])


def _status(base_url: str, request_id: str, headers: dict[str, str] | None) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/status/{request_id}", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def _rows_finished(status: dict[str, Any]) -> int:
    return int(status["rows"]["done"]) + int(status["rows"]["failed"])


def _wait_for_rows(base_url: str, request_id: str, headers: dict[str, str] | None, rows: int) -> None:
    deadline = time.monotonic() + 120
    while _rows_finished(_status(base_url, request_id, headers)) < rows:
        assert time.monotonic() < deadline, f"request {request_id} did not reach {rows} rows"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("batch_key", "small_key"),
    [(None, None), (ALICE, ALICE), (ALICE, BOB)],
    ids=["open-api", "same-key", "other-key"],
)
def test_a_one_image_request_finishes_long_before_a_batch_started_earlier(
    stack: RunningStack,
    keyed_gateway: str,
    image_server: LocalHttpServer,
    batch_key: dict[str, str] | None,
    small_key: dict[str, str] | None,
) -> None:
    base_url = stack.base_url if batch_key is None else keyed_gateway
    batch_id = _upload(
        base_url, _delayed_rows(image_server, f"batch-{time.time_ns()}", BATCH_ROWS), batch_key
    )
    _wait_for_rows(base_url, batch_id, batch_key, 1)

    image = image_server.add(
        f"/small-{time.time_ns()}.jpg", Resource(photo_like_image(32, 24, seed=12), "image/jpeg")
    )
    small_id = _upload(base_url, product_csv([("1", "Small", [image])]), small_key)
    small = wait_finished(base_url, small_id, headers=small_key)
    batch = _status(base_url, batch_id, batch_key)

    assert small["status"] == "completed"
    # Behind the whole batch it would finish after it; behind one window (64 rows of 400) it
    # finishes while most of the batch is still to do.
    assert _rows_finished(batch) < BATCH_ROWS // 2, batch
    assert wait_finished(base_url, batch_id, headers=batch_key)["status"] == "completed"


def test_two_keys_batches_share_the_processors(keyed_gateway: str, image_server: LocalHttpServer) -> None:
    first = _upload(keyed_gateway, _delayed_rows(image_server, f"alice-{time.time_ns()}", BATCH_ROWS), ALICE)
    _wait_for_rows(keyed_gateway, first, ALICE, BATCH_ROWS // 8)
    second = _upload(keyed_gateway, _delayed_rows(image_server, f"bob-{time.time_ns()}", BATCH_ROWS), BOB)

    wait_finished(keyed_gateway, first, headers=ALICE)
    second_status = _status(keyed_gateway, second, BOB)

    # Behind the first batch the second would hardly have started when the first finishes; with
    # equal shares it does about as many rows as the first does after it arrived (7/8 of them).
    assert _rows_finished(second_status) >= BATCH_ROWS // 2, second_status
    assert wait_finished(keyed_gateway, second, headers=BOB)["status"] == "completed"
