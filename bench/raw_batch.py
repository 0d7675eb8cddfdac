"""The small-image batch's limit: the same fetches and recompressions done by a plain script.

aiohttp fetches; each image is decoded and re-encoded on the fetching thread as a processor does
it (bench/per_core.py's `recompress`); one process per core, each with its share of the URLs; no
Kafka, no database, nothing stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiohttp

from bench.per_core import items_per_s, recompress
from imgpipe.config.settings import Settings

# Requests in flight per process: enough that one waiting on the image server never idles the core.
CONCURRENCY = 16
WARM_UP_URLS = 200


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


@dataclass(frozen=True)
class _FetchingAndRecompressing:
    settings: Settings

    def prepare(self, share: Sequence[str]) -> Callable[[], object]:
        # The first calls pay for lazy imports and codec set-up, which a running processor paid
        # long ago. (Nothing on the way caches an image, so fetching these URLs again later is
        # real work.)
        asyncio.run(fetch_and_recompress(share[:WARM_UP_URLS], self.settings))
        return lambda: asyncio.run(fetch_and_recompress(share, self.settings))


def raw_rows_per_s(urls: Sequence[str], settings: Settings, processes: int) -> float:
    """Rows per second over all `processes`, each fetching and recompressing every n-th URL."""
    return items_per_s(_FetchingAndRecompressing(settings), urls, processes)
