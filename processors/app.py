"""Processor workers: imgpipe.rows → fetch, compress, store → imgpipe.results.

Every worker joins the same consumer group, so Kafka spreads the rows' partitions over them.
A row's offset is acknowledged only after its result is on the broker (idempotent producer,
acks=all): a worker killed mid-row leaves the row to be redelivered, never lost.

`IMGPIPE_PROCESSOR_CONCURRENCY` rows are fetched and compressed at once; up to PUBLISHING_ROWS
more may be waiting for their result's acknowledgement meanwhile (processors/publishing.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
from pydantic import ValidationError

from imgpipe.database import connect, database
from imgpipe.faust_app import new_faust_app
from imgpipe.faust_worker import handle_in_offset_order
from imgpipe.kafka import SharedProducer
from imgpipe.logs import logging_request
from imgpipe.messages import DeadLetterReason, RowMessage, RowResult
from imgpipe.retrying import until_available
from imgpipe.row_key import RowKey
from imgpipe.settings import get_settings
from imgpipe.storage.factory import open_storage
from imgpipe.topics import RESULTS, ROWS, ROWS_DLQ, request_key
from processors.dead_letters import dead_letter, failed_row_result
from processors.metrics import count_outcome
from processors.publishing import work_then_publish
from processors.row_processing import ImagePipeline, image_pipeline, process_row
from processors.source_cache import SourceCache

logger = logging.getLogger(__name__)

# Rows that may wait for their result's acknowledgement beside the rows being worked on: at
# 2,000 rows/s and a 10 ms publish (5 ms linger, one round trip) about 20 are waiting. Counting
# them against the working slots halved a worker's rows/s on small images (docs/SCALING.md).
PUBLISHING_ROWS = 64

settings = get_settings()
app = new_faust_app("imgpipe-processors", settings)
rows_topic = app.topic(ROWS)
producer = SharedProducer(settings)
storage = open_storage(settings)
mongo = connect(settings)
source_cache = (
    SourceCache(database(mongo, settings), settings.source_cache_ttl) if settings.source_cache else None
)
compress_executor = (
    ThreadPoolExecutor(max_workers=settings.compress_threads, thread_name_prefix="compress")
    if settings.compress_threads
    else None
)


async def _send_to_dlq(event: faust.EventT[bytes], reason: DeadLetterReason, error: Exception) -> None:
    letter = dead_letter(
        ROWS,
        event.message.partition,
        event.message.offset,
        event.message.key,
        event.message.value or b"",
        reason,
        f"{type(error).__name__}: {error}",
        settings.worker_id,
    )
    value = letter.model_dump_json().encode()
    await until_available(
        lambda: producer.send_and_wait(ROWS_DLQ, value, event.message.key), "publishing to the DLQ"
    )


async def _result_for(pipeline: ImagePipeline, event: faust.EventT[bytes]) -> RowResult | None:
    """The row's result; for a message that cannot be processed, a failed one (after the DLQ)."""
    try:
        message = RowMessage.model_validate_json(event.value)
    except ValidationError as error:
        logger.error("undecodable row message at offset %d: %s", event.message.offset, error)
        await _send_to_dlq(event, "undecodable", error)
        key = RowKey.parse(event.message.key)
        if key is None:
            return None
        return failed_row_result(key.request_id, key.row, settings.worker_id, "undecodable row message", None)
    try:
        with logging_request(message.request_id):
            return await process_row(pipeline, message)
    except Exception as error:  # a bug or a poison input must not stop the partition
        logger.exception("row %s:%d failed", message.request_id, message.row)
        await _send_to_dlq(event, "processing_error", error)
        return failed_row_result(
            message.request_id, message.row, settings.worker_id, "the row could not be processed", message
        )


async def _publish_result(result: RowResult) -> None:
    send = functools.partial(
        producer.send_and_wait,
        RESULTS,
        result.model_dump_json().encode(),
        request_key(result.request_id),
    )
    await until_available(send, "publishing a result")
    for image in result.images:
        count_outcome(image)


async def _process_and_publish(
    pipeline: ImagePipeline, working: asyncio.Semaphore, event: faust.EventT[bytes]
) -> None:
    await work_then_publish(working, functools.partial(_result_for, pipeline, event), _publish_result)


@app.agent(rows_topic)
async def process_rows(stream: faust.StreamT[bytes]) -> None:
    # Rows start in offset order, and wait for a working slot in that order (the semaphore is fair).
    working = asyncio.Semaphore(settings.processor_concurrency)
    async with image_pipeline(settings, compress_executor, storage, source_cache) as pipeline:
        await handle_in_offset_order(
            stream,
            functools.partial(_process_and_publish, pipeline, working),
            settings.processor_concurrency + PUBLISHING_ROWS,
        )


@app.on_before_shutdown.connect
def _stop_producer(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> Awaitable[None]:
    return producer.stop()
