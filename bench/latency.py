"""Upload-to-completed latency of one-image requests, sent one after the other."""

from __future__ import annotations

import math
from collections.abc import Sequence

import httpx

from bench.client import product_csv, time_to_completed


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `fraction` of them at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def one_image_latencies_ms(base_url: str, urls: Sequence[str]) -> list[float]:
    with httpx.Client(timeout=60) as client:
        return [
            1000 * time_to_completed(client, base_url, product_csv([[url]]), poll_s=0.005, timeout_s=60)[0]
            for url in urls
        ]
