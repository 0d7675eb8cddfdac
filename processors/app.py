"""Processor workers: imgpipe.rows → fetch, compress, store → imgpipe.results.

Every worker joins the same consumer group, so Kafka spreads the rows' partitions over them.
A row's offset is acknowledged only after its result is delivered to the broker.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import faust

from imgpipe.faust_app import new_faust_app
from imgpipe.messages import RowMessage
from imgpipe.settings import get_settings
from imgpipe.topics import RESULTS, ROWS, request_key
from processors.row_processing import image_pipeline, process_row

logger = logging.getLogger(__name__)

settings = get_settings()
app = new_faust_app("imgpipe-processors", settings)
rows_topic = app.topic(ROWS)
results_topic = app.topic(RESULTS)
compress_executor = ThreadPoolExecutor(max_workers=settings.compress_threads, thread_name_prefix="compress")


@app.agent(rows_topic, concurrency=settings.processor_concurrency)
async def process_rows(stream: faust.StreamT[bytes]) -> None:
    async with image_pipeline(settings, compress_executor) as pipeline:
        async for event in stream.events():
            message = RowMessage.model_validate_json(event.value)
            result = await process_row(pipeline, message)
            delivery = await results_topic.send(
                key=request_key(result.request_id),
                value=result.model_dump_json().encode(),
                force=True,  # publish now, not at commit time
            )
            await delivery
            logger.debug("row %s:%d done", result.request_id, result.row)
