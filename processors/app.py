"""Processor workers: imgpipe.rows → fetch, compress, store → imgpipe.results.

Every worker joins the same consumer group, so Kafka spreads the rows' partitions over them.
A row's offset is acknowledged only after its result is on the broker (idempotent producer,
acks=all): a worker killed mid-row leaves the row to be redelivered, never lost.

`IMGPIPE_PROCESSOR_CONCURRENCY` rows are fetched and compressed at once; up to PUBLISHING_ROWS
more may be waiting for their result's acknowledgement meanwhile (processors/publishing.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import faust
from pydantic import ValidationError

from imgpipe.config.settings import Settings
from imgpipe.contract.messages import DeadLetterReason, RowResult
from imgpipe.contract.row_key import RowKey
from imgpipe.contract.topics import DEAD_LETTERS_TOPIC, RESULTS_TOPIC, ROWS_TOPIC
from imgpipe.runtime.faust_app import new_faust_app
from imgpipe.runtime.faust_worker import handle_in_offset_order
from imgpipe.runtime.kafka import SharedProducer
from imgpipe.runtime.logs import logging_request
from imgpipe.runtime.worker_clients import WorkerClients
from imgpipe.state.database import connect, database
from imgpipe.state.retention import DAY_S
from imgpipe.storage.factory import open_storage
from processors.dead_letters import dead_letter, failed_row_result
from processors.metrics import count_outcome
from processors.publishing import work_then_publish
from processors.row_processing import ImagePipeline, image_pipeline, process_row
from processors.source_cache import SourceCache
from processors.working_slots import WorkingSlots

logger = logging.getLogger(__name__)

# Rows that may wait for their result's acknowledgement beside the rows being worked on: at
# 2,000 rows/s and a 10 ms publish (5 ms linger, one round trip) about 20 are waiting. Counting
# them against the working slots halved a worker's rows/s on small images (docs/SCALING.md).
PUBLISHING_ROWS = 64


@dataclass(frozen=True)
class ProcessorClients:
    pipeline: ImagePipeline
    producer: SharedProducer


@asynccontextmanager
async def open_processor_clients(settings: Settings) -> AsyncIterator[ProcessorClients]:
    """The image pipeline (its HTTP session, storage, source cache, compress threads) and the
    producer, closed in the reverse order."""
    async with AsyncExitStack() as stack:
        source_cache = None
        if settings.source_cache:
            mongo = connect(settings.database)
            stack.push_async_callback(mongo.close)
            # Kept no longer than the outputs it points at are (a retention, and a period).
            period_s = min(settings.source_cache_ttl, settings.retention_days * DAY_S)
            source_cache = SourceCache(
                database(mongo, settings.database), settings.source_cache_ttl, period_s
            )
        executor = None
        if settings.compress_threads:
            executor = ThreadPoolExecutor(
                max_workers=settings.compress_threads, thread_name_prefix="compress"
            )
            stack.callback(executor.shutdown, wait=False, cancel_futures=True)
        producer = SharedProducer(settings.kafka)
        stack.push_async_callback(producer.stop)
        storage = open_storage(settings.storage, settings.base_url)
        pipeline = await stack.enter_async_context(
            image_pipeline(
                settings.fetching,
                settings.images,
                settings.lifecycle,
                settings.worker_id,
                executor,
                storage,
                source_cache,
            )
        )
        yield ProcessorClients(pipeline, producer)


async def _send_to_dlq(
    clients: ProcessorClients, event: faust.EventT[bytes], reason: DeadLetterReason, error: Exception
) -> None:
    letter = dead_letter(
        ROWS_TOPIC.name,
        event.message.partition,
        event.message.offset,
        event.message.key,
        event.message.value or b"",
        reason,
        f"{type(error).__name__}: {error}",
        clients.pipeline.worker_id,
    )
    await clients.producer.publish(DEAD_LETTERS_TOPIC, letter, "publishing to the DLQ")


async def _result_for(clients: ProcessorClients, event: faust.EventT[bytes]) -> RowResult | None:
    """The row's result; for a message that cannot be processed, a failed one (after the DLQ)."""
    try:
        message = ROWS_TOPIC.decode(event.value)
    except ValidationError as error:
        logger.error("undecodable row message at offset %d: %s", event.message.offset, error)
        await _send_to_dlq(clients, event, "undecodable", error)
        key = RowKey.parse(event.message.key)
        if key is None:
            return None
        return failed_row_result(
            key.request_id, key.row, clients.pipeline.worker_id, "undecodable row message", None
        )
    try:
        with logging_request(message.request_id):
            return await process_row(clients.pipeline, message)
    except Exception as error:  # a bug or a poison input must not stop the partition
        logger.exception("row %s:%d failed", message.request_id, message.row)
        await _send_to_dlq(clients, event, "processing_error", error)
        return failed_row_result(
            message.request_id,
            message.row,
            clients.pipeline.worker_id,
            "the row could not be processed",
            message,
        )


async def _publish_result(clients: ProcessorClients, result: RowResult) -> None:
    await clients.producer.publish(RESULTS_TOPIC, result, "publishing a result")
    for image in result.images:
        count_outcome(image)


async def _process_and_publish(
    clients: ProcessorClients, working: WorkingSlots, event: faust.EventT[bytes]
) -> None:
    key = RowKey.parse(event.message.key)
    await work_then_publish(
        working.slot(key.request_id if key is not None else None),
        functools.partial(_result_for, clients, event),
        functools.partial(_publish_result, clients),
    )


def create_processor_app(settings: Settings) -> faust.App:
    clients = WorkerClients(functools.partial(open_processor_clients, settings))
    app = new_faust_app("imgpipe-processors", settings.kafka, settings.process, clients)

    @app.agent(app.topic(ROWS_TOPIC.name), name="process_rows")
    async def process_rows(stream: faust.StreamT[bytes]) -> None:
        # Rows wait for a working slot in offset order, but for a request's only row here.
        working = WorkingSlots(settings.processor_concurrency)
        await handle_in_offset_order(
            stream,
            functools.partial(_process_and_publish, clients.current, working),
            settings.processor_concurrency + PUBLISHING_ROWS,
        )

    return app
