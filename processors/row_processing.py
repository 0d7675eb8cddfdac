"""One row, start to finish: every image fetched, compressed and stored, the outcome reported.

This is where the three small units (fetch, compress, store) are put together; the Faust agent
only moves messages in and out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from imgpipe.destination_guard import DestinationGuard
from imgpipe.messages import ImageError, ImageOutcome, RowMessage, RowResult
from imgpipe.request_paths import image_key
from imgpipe.settings import Settings
from imgpipe.storage.base import ObjectStorage
from processors.compress import CompressedImage, ImageRejected, compress_jpeg
from processors.fetch import FetchError, fetch_image, new_fetch_session
from processors.metrics import COMPRESS_SECONDS, FETCH_SECONDS
from processors.retry import RetryPolicy, with_retries
from processors.storage import new_image_name, store_image


@dataclass(frozen=True)
class ImagePipeline:
    settings: Settings
    session: aiohttp.ClientSession
    guard: DestinationGuard
    executor: Executor | None  # None: compress on the event loop's own thread
    storage: ObjectStorage


@asynccontextmanager
async def image_pipeline(
    settings: Settings, executor: Executor | None, storage: ObjectStorage
) -> AsyncIterator[ImagePipeline]:
    guard = DestinationGuard(settings.fetch_allowlist)
    session = new_fetch_session(guard, settings.fetch_connect_timeout_s, settings.fetch_timeout_s)
    try:
        yield ImagePipeline(settings, session, guard, executor, storage)
    finally:
        await session.close()


def _compress(settings: Settings, quality: int, data: bytes) -> CompressedImage:
    return compress_jpeg(data, quality, settings.max_image_pixels, settings.jpeg_progressive)


async def _compress_on(
    executor: Executor | None, settings: Settings, quality: int, data: bytes
) -> CompressedImage:
    """On `executor`, or (None) right here, blocking the loop for the few milliseconds it takes:
    Pillow releases the GIL, but a thread hop per image costs more than it gains when every core
    already runs a worker of its own (the thumbor model)."""
    if executor is None:
        return _compress(settings, quality, data)
    return await asyncio.get_running_loop().run_in_executor(executor, _compress, settings, quality, data)


async def process_image(
    pipeline: ImagePipeline, request_id: str, quality: int, row: int, index: int, url: str
) -> ImageOutcome:
    settings = pipeline.settings
    try:
        with FETCH_SECONDS.time():
            data = await with_retries(
                lambda: fetch_image(
                    pipeline.session, pipeline.guard, url, settings.max_image_bytes, settings.max_redirects
                ),
                RetryPolicy(settings.fetch_retries, settings.fetch_retry_base_s, settings.fetch_retry_max_s),
            )
        with COMPRESS_SECONDS.time():
            compressed = await _compress_on(pipeline.executor, settings, quality, data)
            key = image_key(request_id, new_image_name(row, index))
            await store_image(pipeline.storage, key, compressed.data)
    except (FetchError, ImageRejected) as error:
        return ImageOutcome(input_url=url, error=ImageError(code=error.code, message=error.message))
    return ImageOutcome(
        input_url=url,
        output_url=pipeline.storage.public_url(key),
        bytes_in=len(data),
        bytes_out=len(compressed.data),
        width=compressed.width,
        height=compressed.height,
    )


async def process_row(pipeline: ImagePipeline, message: RowMessage) -> RowResult:
    started = time.perf_counter()
    images = await asyncio.gather(
        *(
            process_image(pipeline, message.request_id, message.quality, message.row, index, url)
            for index, url in enumerate(message.input_urls)
        )
    )
    return RowResult(
        request_id=message.request_id,
        row=message.row,
        images=list(images),
        worker_id=pipeline.settings.worker_id,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
