"""A request with no progress for IMGPIPE_STALL_SECONDS says so in status."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from devstack import processes
from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack, start_extra_gateway

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def impatient_gateway(stack: RunningStack) -> Iterator[str]:
    url = start_extra_gateway(stack, "gateway-stall", {"IMGPIPE_STALL_SECONDS": "1"})
    yield url
    processes.stop(stack.paths, "gateway-stall")


def test_a_request_without_progress_is_flagged_stalled(
    impatient_gateway: str, image_server: LocalHttpServer
) -> None:
    slow = image_server.add(
        "/stall/a.jpg", Resource(photo_like_image(20, 20, seed=4), "image/jpeg", delay_s=2.5)
    )
    request_id = upload(impatient_gateway, product_csv([("1", "Slow", [slow])])).json()["request_id"]
    time.sleep(1.5)
    status = httpx.get(f"{impatient_gateway}/status/{request_id}").json()
    assert status["status"] in ("queued", "processing") and status["stalled"] is True
    finished = wait_finished(impatient_gateway, request_id)
    assert finished["status"] == "completed" and finished["stalled"] is False
