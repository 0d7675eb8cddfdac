"""Images per second: Pillow alone on every core (the limit), and the whole pipeline."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from bench.client import product_csv, time_to_completed


def _recompress(data: bytes, quality: int) -> int:
    output = io.BytesIO()
    Image.open(io.BytesIO(data)).save(output, format="JPEG", quality=quality)
    return output.tell()


def raw_images_per_s(images: Sequence[bytes], quality: int) -> float:
    """Decode and re-encode every image with one thread per core (Pillow releases the GIL)."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        started = time.perf_counter()
        list(pool.map(lambda data: _recompress(data, quality), images))
        return len(images) / (time.perf_counter() - started)


def rows_of(urls: Sequence[str], images_per_row: int) -> list[Sequence[str]]:
    return [urls[start : start + images_per_row] for start in range(0, len(urls), images_per_row)]


def pipeline_images_per_s(base_url: str, urls: Sequence[str], images_per_row: int) -> float:
    """Upload one CSV referencing every URL; images per second until status says completed."""
    with httpx.Client(timeout=60) as client:
        elapsed, status = time_to_completed(
            client, base_url, product_csv(rows_of(urls, images_per_row)), poll_s=0.02, timeout_s=900
        )
    images = status["images"]
    assert isinstance(images, dict) and images["done"] == len(urls), status
    return len(urls) / elapsed
