"""Requests staged behind the gateway's back, to test what happens when a message is broken or
lost: the request recorded as the gateway records it once every row is published, and single
messages put on a topic directly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from imgpipe.database import Document
from imgpipe.input_spool import InputSpoolWriter, ProductRow, input_spool_path
from tests.integration.stack import RunningStack


def record_published_request(
    stack: RunningStack, mongo: MongoClient[Document], request_id: str, products: Sequence[ProductRow]
) -> None:
    """The spooled input and the request document of a request whose rows are all published."""
    request_dir = stack.settings.processed_images_dir / request_id
    request_dir.mkdir(parents=True)
    spool = InputSpoolWriter(input_spool_path(request_dir))
    for product in products:
        spool.write(product)
    spool.close()
    now = datetime.now(UTC)
    rows, images = len(products), sum(len(product.input_urls) for product in products)
    db = mongo[stack.settings.mongodb_database]
    db.publishing.insert_one(
        {
            "_id": request_id,
            "rows_total": rows,
            "rows_published": rows,
            "done": True,
            "heartbeat": now,
            "progressed_at": now,
        }
    )
    db.requests.insert_one(
        {
            "_id": request_id, "status": "queued", "owner": None,
            "rows_total": rows, "images_total": images, "rows_done": 0, "rows_failed": 0,
            "images_done": 0, "images_failed": 0, "results_offset": -1, "webhook_url": None,
            "created_at": now, "updated_at": now, "completed_at": None,
        }
    )  # fmt: skip


async def send_one(stack: RunningStack, topic: str, value: bytes, key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
