"""A stalled request is repaired: counters rebuilt from its rows, rows without a result sent again.

The loss is staged by hand: of three rows, only one is ever published, and its result is then
"forgotten" by the counters. After IMGPIPE_STALL_SECONDS without progress the aggregator must
finish the request exactly.
"""

from __future__ import annotations

import functools
import io
import uuid
from dataclasses import replace

import httpx
import pytest
from PIL import Image
from pymongo.asynchronous.database import AsyncDatabase

from devstack.waiting import wait_until
from imgpipe.contract.topics import ROWS, ROWS_TOPIC
from imgpipe.state.database import REQUESTS, Document
from imgpipe.state.request_state import RequestState, advance_state, request_state
from imgpipe.storage.input_spool import ProductRow
from imgpipe.storage.row_producer import RowContext, row_message
from tests.support.helpers import read_csv, read_topic, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack
from tests.support.staged_requests import record_published_request, send_one
from tests.support.stored_state import stored_row_count, stored_state, with_database

pytestmark = pytest.mark.integration


async def _forget_one_counted_row(request_id: str, db: AsyncDatabase[Document]) -> None:
    """A state version whose counters miss one counted row (as a lost update would leave them)."""

    def forget(head: RequestState) -> RequestState:
        return replace(head, rows_done=head.rows_done - 1, images_done=head.images_done - 1)

    request = await REQUESTS.of(db).find_one({"_id": request_id})
    assert request is not None
    await advance_state(db, request_id, await request_state(db, request), forget)


async def test_stalled_request_is_repaired_exactly(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    request_id = str(uuid.uuid4())
    products = [
        ProductRow(
            str(n + 1),
            f"Lost {n}",
            (image_server.add(f"/repair/{n}.jpg", Resource(photo_like_image(40 + n, 30, seed=n))),),
        )
        for n in range(3)
    ]
    record_published_request(stack, request_id, products)

    # Only row 1 ever reaches Kafka; rows 0 and 2 are "lost".
    value, key = ROWS_TOPIC.encode(
        row_message(request_id, 1, products[1], RowContext(quality=50, owner=None))
    )
    await send_one(stack, ROWS_TOPIC.name, value, key)
    wait_until(lambda: getattr(stored_state(stack.settings, request_id), "rows_done", 0) == 1, 60, "row 1")
    # ...and its result is then missing from the counters, as if never counted.
    with_database(stack.settings, functools.partial(_forget_one_counted_row, request_id))

    status = wait_finished(stack.base_url, request_id, timeout_s=120)
    assert status["status"] == "completed"
    assert status["rows"] == {"total": 3, "done": 3, "failed": 0}
    assert status["images"] == {"total": 3, "done": 3, "failed": 0}
    state = stored_state(stack.settings, request_id)
    assert state is not None and state.repairs >= 1
    assert stored_row_count(stack.settings, request_id, 3) == 3

    # Rows 0 and 2 were published again by the repair; row 1, which had its result, was not.
    published = await read_topic(
        stack.settings.kafka_bootstrap_servers,
        ROWS,
        lambda m: m.get("request_id") == request_id,
        4,
        timeout_s=10,
    )
    assert sorted(m["row"] for m in published) == [0, 1, 2]

    async with httpx.AsyncClient() as client:
        table = read_csv((await client.get(f"{stack.base_url}/download/{request_id}")).text)
        assert [cells[0] for cells in table[1:]] == ["1", "2", "3"]
        for n, cells in enumerate(table[1:]):
            image = Image.open(io.BytesIO((await client.get(cells[3])).content))
            assert image.format == "JPEG" and image.size == (40 + n, 30)
