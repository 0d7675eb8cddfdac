"""How small and how faithful the outputs are (`bytes`), and progressive against baseline (`jpeg`).

`bytes`: one upload of some of the benchmark's photos through the pipeline; the outputs' total
bytes over those of Pillow's plain `save(quality=Q)` of the same decoded pixels (decoded and
colour-managed as a processor does, processors.compress.decode_srgb), Q being the stack's
quality. The PSNR of both against those decoded pixels is computed from the squared error summed
over every image, so it weighs each pixel alike.

`jpeg`: the same decoded pixels encoded as imgpipe does (optimized Huffman tables, 4:2:0),
baseline and progressive: bytes, and encode time (the best of a few passes), which is what
IMGPIPE_JPEG_PROGRESSIVE's default rests on.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Sequence
from typing import Any

import httpx
from PIL import Image, ImageChops, ImageStat

from bench.client import product_csv, upload, wait_finished
from bench.throughput import rows_of
from imgpipe.config.settings import Settings
from imgpipe.contract.messages import RequestStatus
from processors.compress import decode_srgb
from processors.encoders import encode_jpeg

ENCODE_PASSES = 3


def _squared_error(reference: Image.Image, encoded: bytes) -> float:
    decoded = Image.open(io.BytesIO(encoded)).convert("RGB")
    return float(sum(ImageStat.Stat(ImageChops.difference(reference, decoded)).sum2))


def _psnr_db(squared_error: float, samples: int) -> float:
    return 10 * math.log10(255**2 / (squared_error / samples))


def _pipeline_outputs(base_url: str, urls: Sequence[str], images_per_row: int) -> list[bytes]:
    """Every URL's output, in input order, from one upload."""
    with httpx.Client(timeout=60) as client:
        request_id = upload(client, base_url, product_csv(rows_of(urls, images_per_row)))
        status = wait_finished(client, base_url, request_id, poll_s=0.2, timeout_s=900)
        if status["status"] != RequestStatus.COMPLETED:
            raise RuntimeError(f"request {request_id} ended {status['status']}: {status}")
        details = client.get(f"{base_url}/status/{request_id}", params={"rows": "true", "limit": 5000}).json()
        return [
            client.get(image["output_url"]).content
            for row in details["row_details"]
            for image in row["images"]
        ]


def output_bytes(
    settings: Settings, base_url: str, urls: Sequence[str], images: Sequence[bytes], images_per_row: int
) -> dict[str, Any]:
    outputs = _pipeline_outputs(base_url, urls, images_per_row)
    imgpipe_bytes = plain_bytes = samples = 0
    imgpipe_error = plain_error = 0.0
    for data, output in zip(images, outputs, strict=True):
        pixels = decode_srgb(data, settings.max_image_pixels)
        plain = io.BytesIO()
        pixels.save(plain, format="JPEG", quality=settings.jpeg_quality)
        imgpipe_bytes += len(output)
        plain_bytes += plain.tell()
        imgpipe_error += _squared_error(pixels, output)
        plain_error += _squared_error(pixels, plain.getvalue())
        samples += pixels.width * pixels.height * 3
    imgpipe_psnr, plain_psnr = _psnr_db(imgpipe_error, samples), _psnr_db(plain_error, samples)
    return {
        "images": len(outputs),
        "quality": settings.jpeg_quality,
        "imgpipe_bytes": imgpipe_bytes,
        "plain_bytes": plain_bytes,
        "ratio": imgpipe_bytes / plain_bytes,
        "imgpipe_psnr_db": imgpipe_psnr,
        "plain_psnr_db": plain_psnr,
        "psnr_difference_db": imgpipe_psnr - plain_psnr,
    }


def _encoded(pixels: Sequence[Image.Image], quality: int, progressive: bool) -> tuple[int, float]:
    """Total bytes, and the best pass's milliseconds per image."""
    best_ms, total = math.inf, 0
    for _ in range(ENCODE_PASSES):
        started = time.perf_counter()
        total = sum(len(encode_jpeg(image, quality, progressive)) for image in pixels)
        best_ms = min(best_ms, (time.perf_counter() - started) * 1000 / len(pixels))
    return total, best_ms


def progressive_against_baseline(settings: Settings, images: Sequence[bytes]) -> dict[str, float]:
    pixels = [decode_srgb(data, settings.max_image_pixels) for data in images]
    baseline_bytes, baseline_ms = _encoded(pixels, settings.jpeg_quality, progressive=False)
    progressive_bytes, progressive_ms = _encoded(pixels, settings.jpeg_quality, progressive=True)
    return {
        "baseline_bytes": baseline_bytes,
        "progressive_bytes": progressive_bytes,
        "progressive_bytes_ratio": progressive_bytes / baseline_bytes,
        "baseline_ms": baseline_ms,
        "progressive_ms": progressive_ms,
        "progressive_time_ratio": progressive_ms / baseline_ms,
    }
