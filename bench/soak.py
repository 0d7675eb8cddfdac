"""`retention.growth`: with a retention of minutes and uploads arriving steadily, what is stored levels off.

On the bench stack (two processors, file storage), the gateway keeps requests `RETENTION_S`. For
`SOAK_S` seconds a 40-row upload arrives every `UPLOAD_EVERY_S`: half its rows the same catalogue
every time (sources revalidated, outputs reused or copied into the current period), half images
never seen (new outputs). Every `SAMPLE_EVERY_S` the soak records the database's size on disk
(FerretDB's SQLite files), the stored bytes and the stored object count (the file backend's
directory), and every `PROBE_EVERY_S` a one-image request's latency. Each upload is checked
exact once finished (every row done).

`growth` is the largest of the three sizes at the end over the same size after the first third
(target 1.1): by then one retention and one period have passed, so deleting has caught up.
`latency_ratio` is the one-image p50 of the last third over the first third's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.batch import SMALL_IMAGES_PATH, batch_urls, ensure_small_images
from bench.client import product_csv, upload
from bench.disk_usage import disk_usage
from bench.image_server import IMAGE_SERVER_PORT, fresh_urls
from bench.latency import one_image_latencies_ms, percentile
from bench.partial_run import measure_into_last_results
from bench.stack import STATE_DIR, BenchStack, running_bench_stack
from imgpipe.contract.messages import FINISHED_STATUSES
from imgpipe.state.retention import DAY_S

RETENTION_S = 120.0
SOAK_S = 21 * 60
UPLOAD_EVERY_S = 2.0
ROWS_PER_UPLOAD = 40
SAMPLE_EVERY_S = 30.0
PROBE_EVERY_S = 60.0
GROWTH_TARGET = 1.1


@dataclass(frozen=True)
class Sizes:
    at_s: float
    database_bytes: int
    stored_bytes: int
    stored_objects: int


def _sizes(stack: BenchStack, at_s: float) -> Sizes:
    stored = disk_usage(STATE_DIR / "processed_images")
    return Sizes(
        at_s=at_s,
        database_bytes=disk_usage(stack.paths.mongodb_data).bytes,
        stored_bytes=stored.bytes,
        stored_objects=stored.files,
    )


@dataclass
class _Uploads:
    """The soak's uploads, each checked once finished."""

    base_url: str
    pending: dict[str, int] = field(default_factory=dict)  # request id -> rows
    exact: int = 0
    inexact: list[str] = field(default_factory=list)

    def check_finished(self, client: httpx.Client) -> None:
        for request_id, rows in list(self.pending.items()):
            status = client.get(f"{self.base_url}/status/{request_id}").json()
            if status["status"] not in FINISHED_STATUSES:
                continue
            del self.pending[request_id]
            if status["rows"] == {"total": rows, "done": rows, "failed": 0}:
                self.exact += 1
            else:
                self.inexact.append(request_id)


def _soak(stack: BenchStack, small_images_url: str) -> dict[str, Any]:
    catalogue = batch_urls(small_images_url, ROWS_PER_UPLOAD // 2)
    uploads = _Uploads(stack.base_url)
    samples: list[Sizes] = []
    probes: list[tuple[float, float]] = []
    stop = threading.Event()

    def probe() -> None:
        # In a thread of its own: its wait must not hold the uploads back.
        while not stop.wait(PROBE_EVERY_S):
            [latency] = one_image_latencies_ms(stack.base_url, fresh_urls(catalogue[:1]))
            probes.append((time.monotonic() - started, latency))

    started = time.monotonic()
    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    next_sample = 0.0
    with httpx.Client(timeout=60) as client:
        while (elapsed := time.monotonic() - started) < SOAK_S:
            fresh = fresh_urls(catalogue)
            csv_file = product_csv([[url] for url in catalogue + fresh])
            uploads.pending[upload(client, stack.base_url, csv_file)] = ROWS_PER_UPLOAD
            uploads.check_finished(client)
            if elapsed >= next_sample:
                samples.append(_sizes(stack, elapsed))
                next_sample += SAMPLE_EVERY_S
            time.sleep(max(0.0, UPLOAD_EVERY_S - (time.monotonic() - started - elapsed)))
        stop.set()
        prober.join()
        while uploads.pending:
            uploads.check_finished(client)
            time.sleep(1)
    samples.append(_sizes(stack, time.monotonic() - started))
    return _figures(samples, probes, uploads)


def _figures(samples: list[Sizes], probes: list[tuple[float, float]], uploads: _Uploads) -> dict[str, Any]:
    third = min(samples, key=lambda sample: abs(sample.at_s - SOAK_S / 3))
    end = samples[-1]
    growth = {
        name: getattr(end, name) / max(1, getattr(third, name))
        for name in ("database_bytes", "stored_bytes", "stored_objects")
    }
    early = [latency for at, latency in probes if at <= SOAK_S / 3]
    late = [latency for at, latency in probes if at >= 2 * SOAK_S / 3]
    return {
        "soak_s": SOAK_S,
        "soak_retention_s": RETENTION_S,
        "soak_rows_per_upload": ROWS_PER_UPLOAD,
        "soak_upload_every_s": UPLOAD_EVERY_S,
        "growth": max(growth.values()),
        "growth_by_size": growth,
        "soak_samples": [sample.__dict__ for sample in samples],
        "soak_requests_exact": uploads.exact,
        "soak_requests_inexact": uploads.inexact,
        "soak_latency_first_third_p50_ms": percentile(early, 0.5),
        "soak_latency_last_third_p50_ms": percentile(late, 0.5),
        "soak_latency_ratio": percentile(late, 0.5) / percentile(early, 0.5),
    }


def main() -> None:
    """The soak on a fresh bench stack, its figures added to the last `make bench`'s `retention`."""

    def measure_alone(results: dict[str, Any], image_dir: Path) -> dict[str, Any]:
        ensure_small_images(image_dir)
        retention = {"IMGPIPE_RETENTION_DAYS": str(RETENTION_S / DAY_S)}
        with running_bench_stack(IMAGE_SERVER_PORT, processors=2, settings=retention) as stack:
            soak = _soak(stack, f"http://127.0.0.1:{IMAGE_SERVER_PORT}/{SMALL_IMAGES_PATH}")
        print(f"  growth {soak['growth']:.2f} ({soak['growth_by_size']})", flush=True)
        return {**results.get("retention", {}), **soak}

    measure_into_last_results("retention", measure_alone)


if __name__ == "__main__":
    main()
