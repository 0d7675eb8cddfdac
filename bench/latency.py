"""Upload-to-completed latency of one-image requests, sent one after the other."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bench.client import product_csv, time_to_completed


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `fraction` of them at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Probe:
    """One one-image request: when its upload started (wall clock, to set beside the services'
    timestamps), how long until the client saw it completed, and that final status."""

    started_at: float  # seconds since the epoch
    seconds: float
    status: dict[str, Any]

    @property
    def latency_ms(self) -> float:
        return 1000 * self.seconds


def one_image_probes(base_url: str, urls: Sequence[str]) -> list[Probe]:
    probes = []
    with httpx.Client(timeout=60) as client:
        for url in urls:
            started_at = time.time()
            seconds, status = time_to_completed(
                client, base_url, product_csv([[url]]), poll_s=0.005, timeout_s=60
            )
            probes.append(Probe(started_at, seconds, status))
    return probes


def one_image_latencies_ms(base_url: str, urls: Sequence[str]) -> list[float]:
    return [probe.latency_ms for probe in one_image_probes(base_url, urls)]
