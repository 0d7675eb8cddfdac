"""A stalled request is repaired: counters rebuilt from its rows, rows without a result sent again.

The loss is staged by hand: of three rows, only one is ever published, and its result is then
"forgotten" by the counters. After IMGPIPE_STALL_SECONDS without progress the aggregator must
finish the request exactly.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from PIL import Image
from pymongo import MongoClient

from imgpipe.database import Document
from imgpipe.input_spool import InputSpoolWriter, ProductRow, input_spool_path, row_message
from imgpipe.topics import ROWS, row_key
from tests.integration.fault_injection import wait_until
from tests.integration.helpers import photo_like_image, read_csv, read_topic, wait_finished
from tests.integration.local_http_server import LocalHttpServer, Resource
from tests.integration.stack import RunningStack

pytestmark = pytest.mark.integration


async def test_stalled_request_is_repaired_exactly(
    stack: RunningStack, mongo: MongoClient[Document], image_server: LocalHttpServer
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
    # The request as the gateway records it once every row is published.
    request_dir = stack.settings.processed_images_dir / request_id
    request_dir.mkdir(parents=True)
    spool = InputSpoolWriter(input_spool_path(request_dir))
    for product in products:
        spool.write(product)
    spool.close()
    now = datetime.now(UTC)
    requests = mongo[stack.settings.mongodb_database].requests
    requests.insert_one(
        {
            "_id": request_id, "status": "queued", "owner": None,
            "rows_total": 3, "images_total": 3, "rows_done": 0, "rows_failed": 0,
            "images_done": 0, "images_failed": 0, "rows_published": 3, "publishing_done": True,
            "publish_heartbeat": now, "results_offset": -1, "webhook_url": None,
            "webhook_deliveries": [], "created_at": now, "updated_at": now, "completed_at": None,
        }
    )  # fmt: skip

    # Only row 1 ever reaches Kafka; rows 0 and 2 are "lost".
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap)
    await producer.start()
    try:
        message = row_message(request_id, 1, products[1]).model_dump_json().encode()
        await producer.send_and_wait(ROWS, message, key=row_key(request_id, 1))
    finally:
        await producer.stop()
    wait_until(lambda: (requests.find_one({"_id": request_id}) or {}).get("rows_done") == 1, 60, "row 1")
    # ...and its result is then missing from the counters, as if never counted.
    requests.update_one({"_id": request_id}, {"$inc": {"rows_done": -1, "images_done": -1}})

    status = wait_finished(stack.base_url, request_id, timeout_s=120)
    assert status["status"] == "completed"
    assert status["rows"] == {"total": 3, "done": 3, "failed": 0}
    assert status["images"] == {"total": 3, "done": 3, "failed": 0}
    request = requests.find_one({"_id": request_id})
    assert request is not None and request["repairs"] >= 1
    assert mongo[stack.settings.mongodb_database].rows.count_documents({"request_id": request_id}) == 3

    # Rows 0 and 2 were published again by the repair; row 1, which had its result, was not.
    published = await read_topic(
        stack.settings.kafka_bootstrap, ROWS, lambda m: m.get("request_id") == request_id, 4, timeout_s=10
    )
    assert sorted(m["row"] for m in published) == [0, 1, 2]

    async with httpx.AsyncClient() as client:
        table = read_csv((await client.get(f"{stack.base_url}/download/{request_id}")).text)
        assert [cells[0] for cells in table[1:]] == ["1", "2", "3"]
        for n, cells in enumerate(table[1:]):
            image = Image.open(io.BytesIO((await client.get(cells[3])).content))
            assert image.format == "JPEG" and image.size == (40 + n, 30)
