"""Publish an accepted request's rows to `imgpipe.rows`, one message per row, in the background.

Progress is checkpointed in MongoDB (gateway/publishing_checkpoint.py) together with a heartbeat.
A request whose heartbeat is older than the lease while rows remain unpublished belongs to a
gateway that died (or lost the broker): any gateway picks it up and resumes from the checkpoint.
Rows after the checkpoint may be published twice; the aggregator counts each row once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from gateway.checkpoint_clock import CheckpointClock
from gateway.metrics import ROWS_PUBLISHED
from gateway.publishing_checkpoint import (
    PublishingProgress,
    claim_stale_publishing,
    publishing_progress,
    record_rows_published,
)
from gateway.request_store import request_row_context
from gateway.row_batches import RowBatchSender
from imgpipe.database import Document
from imgpipe.input_spool import RowContext, read_input_spool, row_message
from imgpipe.logs import logging_request
from imgpipe.repeated_urls import RepeatedUrls
from imgpipe.retrying import UNAVAILABLE, until_available
from imgpipe.storage.base import ObjectStorage
from imgpipe.topics import ROWS_TOPIC

logger = logging.getLogger(__name__)

# After this much publishing the publisher waits for the broker's acknowledgements and records a
# checkpoint (gateway/checkpoint_clock.py): a restart re-sends about this much, and the lease is
# renewed.
PUBLISH_CHECKPOINT_INTERVAL_S = 1.0
# A publisher that has not checkpointed for this long is presumed dead.
PUBLISH_LEASE_S = 15.0
RESUME_SCAN_INTERVAL_S = 5.0


async def publish_rows(
    producer: AIOKafkaProducer,
    db: AsyncDatabase[Document],
    request_id: str,
    context: RowContext,
    storage: ObjectStorage,
    progress: PublishingProgress,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    start_row = progress.rows_published
    partitions = sorted(await producer.partitions_for(ROWS_TOPIC.name))
    sender = RowBatchSender(producer, partitions, progress.rows_total - start_row)
    checkpoints = CheckpointClock(PUBLISH_CHECKPOINT_INTERVAL_S, clock)
    published = start_row
    async for row_index, row in read_input_spool(storage, request_id, start_row):
        await sender.send(row_message(request_id, row_index, row, context))
        if checkpoints.due():
            await sender.delivered()
            ROWS_PUBLISHED.inc(row_index + 1 - published)
            published = row_index + 1
            await record_rows_published(db, request_id, published, done=False)
            checkpoints.checkpointed()
    await sender.delivered()
    ROWS_PUBLISHED.inc(progress.rows_total - published)
    await record_rows_published(db, request_id, progress.rows_total, done=True)
    logger.info("published rows %d-%d of request %s", start_row, progress.rows_total - 1, request_id)


class RowPublisher:
    """Owns the background publishing tasks, and picks up the ones dead gateways left behind."""

    def __init__(
        self, producer: AIOKafkaProducer, db: AsyncDatabase[Document], storage: ObjectStorage
    ) -> None:
        self._producer = producer
        self._db = db
        self._storage = storage
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, request_id: str, repeated_urls: RepeatedUrls | None = None) -> None:
        """Publish the request's rows; `repeated_urls` when this gateway just read the upload
        (a request resumed after a gateway died is published without)."""
        if request_id in self._tasks:
            return
        task = asyncio.create_task(self._publish(request_id, repeated_urls))
        self._tasks[request_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(request_id, None))

    async def _resume_once(self, request_id: str, repeated_urls: RepeatedUrls | None) -> None:
        progress = await publishing_progress(self._db, request_id)
        if progress is None:
            raise RuntimeError(f"request {request_id} has no publishing checkpoint")
        context = replace(await request_row_context(self._db, request_id), repeated_urls=repeated_urls)
        await publish_rows(self._producer, self._db, request_id, context, self._storage, progress)

    async def _publish(self, request_id: str, repeated_urls: RepeatedUrls | None) -> None:
        with logging_request(request_id):
            try:
                # After a broker or database outage, start again from the last checkpoint.
                await until_available(
                    functools.partial(self._resume_once, request_id, repeated_urls),
                    f"publishing rows of {request_id}",
                )
            except Exception:
                logger.exception("publishing rows of request %s failed", request_id)

    async def resume_abandoned(self) -> None:
        """Forever: take over publishing that stopped (gateway killed mid-upload) and finish it."""
        while True:
            try:
                for request_id in await claim_stale_publishing(self._db, PUBLISH_LEASE_S):
                    logger.info("resuming publishing of request %s", request_id)
                    self.start(request_id)
            except UNAVAILABLE as error:
                logger.warning("cannot look for abandoned publishing now: %r", error)
            except Exception:
                # Keep scanning: a bug here must be visible, but must not stop resumption for good.
                logger.exception("looking for abandoned publishing failed")
            await asyncio.sleep(RESUME_SCAN_INTERVAL_S)

    async def stop(self) -> None:
        """On shutdown: stop at once. Progress is checkpointed, so a gateway resumes it later."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
