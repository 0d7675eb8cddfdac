"""With two processor workers, both take part in one large request."""

from __future__ import annotations

import pytest

from imgpipe.contract.topics import RESULTS
from tests.support.helpers import (
    product_csv,
    read_topic,
    upload,
    wait_finished,
)
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

ROWS = 120


async def test_both_workers_process_rows_of_one_request(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    image = photo_like_image(80, 60, seed=7)
    rows = [
        (str(n), f"Item {n}", [image_server.add(f"/scale/{n}.jpg", Resource(image, "image/jpeg"))])
        for n in range(1, ROWS + 1)
    ]
    request_id = upload(stack.base_url, product_csv(rows)).json()["request_id"]
    assert wait_finished(stack.base_url, request_id)["status"] == "completed"
    results = await read_topic(
        stack.settings.kafka_bootstrap_servers, RESULTS, lambda r: r["request_id"] == request_id, ROWS
    )
    assert {result["row"] for result in results} == set(range(ROWS))
    workers = {result["worker_id"] for result in results}
    assert workers == {"processor-1", "processor-2"}
