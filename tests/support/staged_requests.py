"""Requests staged behind the gateway's back, to test what happens when a message is broken or
lost: the request recorded as the gateway records it once every row is published, and single
messages put on a topic directly."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from gateway.intake.request_store import insert_request
from gateway.publishing.checkpoint import record_rows_published
from imgpipe.state.database import Document
from imgpipe.state.retention import DEFAULT_RETENTION_S
from imgpipe.storage.factory import open_storage
from imgpipe.storage.input_spool import InputSpoolWriter, ProductRow, store_input_spool
from imgpipe.storage.request_paths import INPUT_SPOOL_NAME
from tests.support.stack import RunningStack
from tests.support.stored_state import with_database


def record_published_request(
    stack: RunningStack,
    request_id: str,
    products: Sequence[ProductRow],
    retention_s: float = DEFAULT_RETENTION_S,
    owner: str | None = None,
) -> None:
    """A request recorded as the gateway records it, with its spooled input, once every row is
    published (but none of them really is)."""
    storage = open_storage(stack.settings.storage, stack.settings.base_url)
    rows, images = len(products), sum(len(product.input_urls) for product in products)

    async def record(db: AsyncDatabase[Document]) -> None:
        with tempfile.TemporaryDirectory() as staging:
            path = Path(staging) / INPUT_SPOOL_NAME
            spool = InputSpoolWriter(path)
            for product in products:
                spool.write(product)
            spool.close()
            await store_input_spool(storage, request_id, path)
        await insert_request(
            db,
            request_id,
            rows,
            images,
            webhook_url=None,
            owner=owner,
            quality=50,
            presets=(),
            retention_s=retention_s,
        )
        await record_rows_published(db, request_id, rows, done=True)

    with_database(stack.settings, record)


async def send_one(stack: RunningStack, topic: str, value: bytes, key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
