"""Publish an accepted request's rows to `imgpipe.rows`, one message per row, in the background.

Progress is checkpointed in MongoDB (gateway/publishing/checkpoint.py) together with a heartbeat.
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
from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase

from gateway.publishing.checkpoint import (
    claim_stale_publishing,
    publishing_progress,
    record_rows_published,
)
from gateway.publishing.checkpoint_clock import CheckpointClock
from gateway.publishing.fair_scheduler import RESYNC_AFTER_S, FairScheduler, Window
from imgpipe.contract.messages import RowMessage
from imgpipe.contract.repeated_urls import RepeatedUrls
from imgpipe.runtime.logs import logging_request
from imgpipe.runtime.retrying import UNAVAILABLE, until_available
from imgpipe.state.database import REQUESTS, Document, RequestDocument
from imgpipe.state.request_state import request_state
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.row_producer import RowContext, RowProducer, spooled_row_messages

logger = logging.getLogger(__name__)

# After this much publishing the publisher waits for the broker's acknowledgements and records a
# checkpoint (gateway/publishing/checkpoint_clock.py): a restart re-sends about this much, and the lease is
# renewed.
PUBLISH_CHECKPOINT_INTERVAL_S = 1.0
# A publisher that has not checkpointed for this long is presumed dead.
PUBLISH_LEASE_S = 15.0
RESUME_SCAN_INTERVAL_S = 5.0

ROWS_PUBLISHED = Counter("imgpipe_rows_published_total", "Rows published to imgpipe.rows")


async def _request_document(db: AsyncDatabase[Document], request_id: str) -> RequestDocument:
    """A request being published (it exists: its rows are published only after it is inserted)."""
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    if request is None:
        raise RuntimeError(f"request {request_id} has a publishing checkpoint but no request document")
    return request


async def _rows_finished(db: AsyncDatabase[Document], request_id: str) -> int:
    """The rows of a request the aggregator has counted."""
    return (await request_state(db, await _request_document(db, request_id))).rows_finished


class _Publishing:
    """One run of publishing a request's rows, from its checkpoint to its end or to a crash."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        row_producer: RowProducer,
        scheduler: FairScheduler,
        window: Window,
        clock: Callable[[], float],
    ) -> None:
        self._db = db
        self._row_producer = row_producer
        self._scheduler = scheduler
        self._window = window
        self._clock = clock
        self._checkpoints = CheckpointClock(PUBLISH_CHECKPOINT_INTERVAL_S, clock)
        self.checkpointed = window.published

    async def checkpoint(self, done: bool) -> None:
        """Wait for the broker's acknowledgements, then record the rows published (and the lease)."""
        await self._row_producer.delivered()
        published = self._window.published
        ROWS_PUBLISHED.inc(published - self.checkpointed)
        await record_rows_published(self._db, self._window.request_id, published, done)
        self.checkpointed = published
        self._checkpoints.checkpointed()

    async def send(self, message: RowMessage) -> None:
        if not self._scheduler.has_room(self._window):
            await self._row_producer.hand_over()  # what is batched must reach the processors to finish
            await self._wait_for_room()
        await self._row_producer.send(message)
        self._window.published += 1
        if self._checkpoints.due():
            await self.checkpoint(done=False)

    async def _wait_for_room(self) -> None:
        """Wait until enough rows of the request finished for a refill, keeping the lease; re-count
        from the aggregator's counters when nothing is heard for a while."""
        heard_at = self._clock()
        while not self._scheduler.refill_due(self._window):
            await self._scheduler.room(self._window, PUBLISH_CHECKPOINT_INTERVAL_S)
            if self._checkpoints.due():
                await self.checkpoint(done=False)
            if self._clock() - heard_at >= RESYNC_AFTER_S:
                self._scheduler.resync(self._window, await _rows_finished(self._db, self._window.request_id))
                heard_at = self._clock()


async def publish_rows(
    producer: AIOKafkaProducer,
    db: AsyncDatabase[Document],
    context: RowContext,
    storage: ObjectStorage,
    scheduler: FairScheduler,
    window: Window,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Publish the window's request from the row after its last checkpoint to its end."""
    request_id, start_row = window.request_id, window.published
    publishing = _Publishing(db, await RowProducer.of(producer), scheduler, window, clock)
    async for message in spooled_row_messages(storage, request_id, context, start_row):
        await publishing.send(message)
    await publishing.checkpoint(done=True)
    logger.info("published rows %d-%d of request %s", start_row, window.rows_total - 1, request_id)


class RowPublisher:
    """Owns the background publishing tasks, and picks up the ones dead gateways left behind."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        db: AsyncDatabase[Document],
        storage: ObjectStorage,
        scheduler: FairScheduler,
    ) -> None:
        self._producer = producer
        self._db = db
        self._storage = storage
        self._scheduler = scheduler
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
        request = await _request_document(self._db, request_id)
        context = replace(RowContext.of_request(request), repeated_urls=repeated_urls)
        # Rows up to the checkpoint count as unfinished but for those the aggregator has counted
        # (a new request has none: its state is not read). Rows a dead gateway sent after its
        # checkpoint are not counted: the window runs over by those for a while.
        finished = 0
        if progress.rows_published:
            finished = (await request_state(self._db, request)).rows_finished
        window = self._scheduler.open(
            request_id, context.owner, progress.rows_total, progress.rows_published, finished
        )
        try:
            await publish_rows(self._producer, self._db, context, self._storage, self._scheduler, window)
        finally:
            self._scheduler.close(window)

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
