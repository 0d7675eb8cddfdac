"""The small-image batch's limit: the same fetches and recompressions done by a plain script.

aiohttp fetches; each image is decoded and re-encoded on the fetching thread by the processors'
own `compress_jpeg` with the stack's settings (the same decode, colour handling and encode as a
processor's); one process per core, each with its share of the URLs; no Kafka, no database,
nothing stored. The processes start together (a barrier, after a short warm-up of their own)
and the rate is every URL over the span from the first start to the last finish.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from collections.abc import Sequence
from multiprocessing.synchronize import Barrier

import aiohttp

from imgpipe.settings import Settings
from processors.compress import compress_jpeg
from processors.image_memory import keep_freed_memory

# Requests in flight per process: enough that one waiting on the image server never idles the core.
CONCURRENCY = 16
WARM_UP_URLS = 200


def recompress(data: bytes, settings: Settings) -> int:
    return len(
        compress_jpeg(data, settings.jpeg_quality, settings.max_image_pixels, settings.jpeg_progressive).data
    )


async def fetch_and_recompress(
    urls: Sequence[str], settings: Settings, concurrency: int = CONCURRENCY
) -> int:
    """Every URL fetched and recompressed, `concurrency` at a time; returns the bytes written."""
    pending = iter(urls)
    written = 0

    async def work_through(session: aiohttp.ClientSession) -> None:
        nonlocal written
        for url in pending:  # one shared iterator: whichever task is free takes the next URL
            async with session.get(url) as response:
                response.raise_for_status()
                data = await response.read()
            written += recompress(data, settings)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(work_through(session) for _ in range(concurrency)))
    return written


def _timed_share(
    urls: Sequence[str],
    settings: Settings,
    barrier: Barrier,
    spans: multiprocessing.Queue[tuple[float, float]],
) -> None:
    keep_freed_memory()  # as a processor does
    # The first calls pay for lazy imports and codec set-up, which a running processor paid long
    # ago. (Nothing on the way caches an image, so fetching these URLs again later is real work.)
    asyncio.run(fetch_and_recompress(urls[:WARM_UP_URLS], settings))
    barrier.wait(timeout=600)
    # time.monotonic is CLOCK_MONOTONIC on Linux: one clock for every process of the machine.
    started = time.monotonic()
    asyncio.run(fetch_and_recompress(urls, settings))
    spans.put((started, time.monotonic()))


def raw_rows_per_s(urls: Sequence[str], settings: Settings, processes: int) -> float:
    """Rows per second over all `processes`, each fetching and recompressing every n-th URL."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as a plain script would be
    barrier = context.Barrier(processes)
    spans: multiprocessing.Queue[tuple[float, float]] = context.Queue()
    workers = [
        context.Process(target=_timed_share, args=(urls[share::processes], settings, barrier, spans))
        for share in range(processes)
    ]
    for worker in workers:
        worker.start()
    measured: list[tuple[float, float]] = []
    try:
        while len(measured) < processes:
            try:
                measured.append(spans.get(timeout=1))
            except queue.Empty:
                if any(worker.exitcode not in (None, 0) for worker in workers):
                    raise RuntimeError("a raw batch process failed (its traceback is above)") from None
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    first_start = min(started for started, _ in measured)
    last_finish = max(finished for _, finished in measured)
    return len(urls) / (last_finish - first_start)
