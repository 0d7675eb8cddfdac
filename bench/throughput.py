"""Images per second: Pillow alone on every core (the limit), and the whole pipeline.

The limit does what a processor does to an image and nothing else: the same decode, colour
handling and encode settings (processors.compress.compress_jpeg with the stack's settings).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.client import product_csv, time_to_completed
from bench.image_server import fresh_urls
from imgpipe.settings import Settings
from processors.compress import compress_jpeg


def _recompress(data: bytes, settings: Settings) -> int:
    return len(
        compress_jpeg(data, settings.jpeg_quality, settings.max_image_pixels, settings.jpeg_progressive).data
    )


def raw_images_per_s(images: Sequence[bytes], settings: Settings, threads: int) -> float:
    """Decode and re-encode every image on `threads` threads (Pillow releases the GIL).

    The best of two passes: the first one pays for cold caches and page faults, which the
    pipeline, warmed up beforehand, does not.
    """
    with ThreadPoolExecutor(max_workers=threads) as pool:
        rates = []
        for _ in range(2):
            started = time.perf_counter()
            list(pool.map(lambda data: _recompress(data, settings), images))
            rates.append(len(images) / (time.perf_counter() - started))
        return max(rates)


WARM_UP_IMAGES = 20


def rows_of(urls: Sequence[str], images_per_row: int) -> list[Sequence[str]]:
    return [urls[start : start + images_per_row] for start in range(0, len(urls), images_per_row)]


def pipeline_images_per_s(base_url: str, urls: Sequence[str], images_per_row: int) -> float:
    """Upload one CSV referencing every image, under URLs no upload used before (so that all of
    it is work); images per second until status says completed."""
    rows = rows_of(fresh_urls(urls), images_per_row)
    with httpx.Client(timeout=60) as client:
        elapsed, status = time_to_completed(client, base_url, product_csv(rows), poll_s=0.1, timeout_s=900)
    images = status["images"]
    assert isinstance(images, dict) and images["done"] == len(urls), status
    return len(urls) / elapsed


def warm_up(base_url: str, urls: Sequence[str], images_per_row: int) -> None:
    """A small upload first, so that a measurement starts with every worker warm: its connections
    open, its partitions assigned and its first images behind it. A worker just started or just
    given other partitions pays for all that in its first seconds, which is a fifth of a
    2,000-image run."""
    pipeline_images_per_s(base_url, urls[:WARM_UP_IMAGES], images_per_row)
