"""Publish an accepted request's rows to `imgpipe.rows`, one message per row, in the background."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from gateway.request_store import record_rows_published
from imgpipe.database import Document
from imgpipe.input_spool import read_input_spool
from imgpipe.messages import RowMessage
from imgpipe.topics import ROWS, row_key

logger = logging.getLogger(__name__)

# Progress is recorded in MongoDB after every this many delivered rows (a later restart resumes
# from the last record), and waiting on deliveries in groups keeps the producer's batches full.
PUBLISH_CHECKPOINT_ROWS = 5000


async def publish_rows(
    producer: AIOKafkaProducer, db: AsyncDatabase[Document], request_id: str, spool: Path
) -> None:
    deliveries: list[asyncio.Future[object]] = []
    published = 0
    for row_index, row in enumerate(read_input_spool(spool)):
        message = RowMessage(
            request_id=request_id,
            row=row_index,
            serial_number=row.serial_number,
            product_name=row.product_name,
            input_urls=list(row.input_urls),
        )
        deliveries.append(
            await producer.send(ROWS, message.model_dump_json().encode(), key=row_key(request_id, row_index))
        )
        if len(deliveries) >= PUBLISH_CHECKPOINT_ROWS:
            await asyncio.gather(*deliveries)
            published += len(deliveries)
            deliveries.clear()
            await record_rows_published(db, request_id, published)
    await asyncio.gather(*deliveries)
    await record_rows_published(db, request_id, published + len(deliveries))
    logger.info("published %d rows of request %s", published + len(deliveries), request_id)


class RowPublisher:
    """Owns the background publishing tasks so they are not garbage-collected mid-flight."""

    def __init__(self, producer: AIOKafkaProducer, db: AsyncDatabase[Document]) -> None:
        self._producer = producer
        self._db = db
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, request_id: str, spool: Path) -> None:
        task = asyncio.create_task(self._publish(request_id, spool))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, request_id: str, spool: Path) -> None:
        try:
            await publish_rows(self._producer, self._db, request_id, spool)
        except Exception:
            logger.exception("publishing rows of request %s failed", request_id)

    async def drain(self) -> None:
        """Let publishing that was accepted finish before shutdown."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
