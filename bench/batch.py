"""The small-image batch: one CSV of many rows, one 64x48 JPEG each, from upload to `completed`.

Every row's URL is distinct: a few files served under a query string naming the row, so nothing
on the way could answer a row from an earlier one. Measured meanwhile: when the last result
reached imgpipe.results (the processors' share of the time), and each service's peak memory.
"""

from __future__ import annotations

import asyncio
import csv
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from bench.image_set import ensure_image_set
from bench.memory import peak_rss_mb, reset_peak_rss
from bench.stack import BenchStack
from bench.topic_records import messages_in_topic
from imgpipe.config.settings import Settings
from imgpipe.contract.messages import FINISHED_STATUSES, RequestStatus
from imgpipe.contract.topics import RESULTS

SMALL_WIDTH, SMALL_HEIGHT = 64, 48
DISTINCT_IMAGES = 100
SMALL_IMAGES_PATH = "small"  # under the image server's directory, and in the URLs
POLL_S = 0.25


def ensure_small_images(image_server_dir: Path) -> list[Path]:
    return ensure_image_set(image_server_dir / SMALL_IMAGES_PATH, DISTINCT_IMAGES, SMALL_WIDTH, SMALL_HEIGHT)


def batch_urls(small_images_url: str, rows: int) -> list[str]:
    """One URL per row, all distinct: `small_images_url` is where the image server serves them."""
    return [f"{small_images_url}/{row % DISTINCT_IMAGES:05d}.jpg?row={row}" for row in range(rows)]


def write_batch_csv(path: Path, urls: list[str]) -> Path:
    """A CSV with one product per URL. Written afresh every time (about a second per million
    rows): a cached one would keep the URLs, and so the image server's port, of the run that
    wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["S. No.", "Product Name", "Input Image Urls"])
        writer.writerows([number, f"Product {number}", url] for number, url in enumerate(urls, 1))
    return path


@dataclass(frozen=True)
class BatchRun:
    request_id: str
    rows: int
    seconds: float  # from the start of the upload until status says completed
    results_seconds: float  # … until the last row's result was on imgpipe.results
    peak_rss_mb: dict[str, float]  # each service's, from the upload on

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def results_rows_per_s(self) -> float:
        return self.rows / self.results_seconds


async def results_on_topic(consumer: AIOKafkaConsumer, partitions: int) -> int:
    return await messages_in_topic(consumer, RESULTS, partitions)


async def _follow(
    settings: Settings, base_url: str, csv_file: bytes, rows: int, timeout_s: float
) -> tuple[str, float, float]:
    """Upload, then poll until completed: (request id, seconds to completed, seconds to results)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        before = await results_on_topic(consumer, settings.results_partitions)
        async with httpx.AsyncClient(timeout=600) as client:
            started = time.perf_counter()
            files = {"file": ("products.csv", csv_file, "text/csv")}
            response = await client.post(f"{base_url}/upload", files=files)
            response.raise_for_status()
            request_id: str = response.json()["request_id"]
            results_seconds: float | None = None
            # Polled: neither the broker nor a plain status read notifies anything.
            while True:
                now = time.perf_counter() - started
                if results_seconds is None and (
                    await results_on_topic(consumer, settings.results_partitions) >= before + rows
                ):
                    results_seconds = now
                status = (await client.get(f"{base_url}/status/{request_id}")).raise_for_status().json()
                if status["status"] in FINISHED_STATUSES:
                    break
                if now > timeout_s:
                    raise TimeoutError(f"batch {request_id} not finished after {timeout_s:.0f} s: {status}")
                await asyncio.sleep(POLL_S)
            seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
    if status["status"] != RequestStatus.COMPLETED or status["rows"]["done"] != rows:
        raise RuntimeError(f"batch {request_id} ended {status['status']}: {status}")
    return request_id, seconds, results_seconds if results_seconds is not None else seconds


def run_batch(stack: BenchStack, csv_path: Path, rows: int, timeout_s: float) -> BatchRun:
    csv_file = csv_path.read_bytes()
    pids = stack.service_pids()
    for pid in pids.values():
        reset_peak_rss(pid)
    request_id, seconds, results_seconds = asyncio.run(
        _follow(stack.settings, stack.base_url, csv_file, rows, timeout_s)
    )
    if stack.service_pids() != pids:
        raise RuntimeError("a service restarted during the batch: its peak memory would be wrong")
    peaks = {name: peak_rss_mb(pid) for name, pid in pids.items()}
    return BatchRun(request_id, rows, seconds, results_seconds, peaks)
