"""`fairness.*`: small requests beside a batch, two keys' shares, and what the scheduling costs.

On the bench stack (2 processors), all with small-image batches of `batch_rows` rows:
1. one-image requests and a 1,000-row request on the idle stack, then the same while a batch runs
   (the batch and the probes under one owner, the API open: `ratio`, `thousand_ratio`), with
   where the one-image requests' time went, stage by stage (`stages_idle_ms`, `stages_busy_ms`:
   bench/probe_stages.py);
2. a batch alone with the scheduling and with it off (IMGPIPE_SCHEDULED_ROWS=0, first come first
   served), and the photo throughput upload both ways, in turn, twice, the best of each
   (`batch_ratio`, `throughput_ratio`), with the CPU time each process spent per 1,000 of the
   batches' rows (`cpu_s_per_1000_rows_scheduled`, `…_unscheduled`): what the scheduling costs
   the cores the processors share;
3. with a keys file: two keys of equal weight upload a batch each at the same moment
   (`share_min`), then keys of weights 4 and 1 (`weighted_error`).

A share is the owner's part of the rows both batches finished while both ran, from the status
of each, polled.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.batch import SMALL_IMAGES_PATH, batch_urls, ensure_small_images
from bench.client import product_csv, time_to_completed, upload, wait_finished
from bench.image_server import IMAGE_SERVER_PORT, fresh_urls, image_server_pid
from bench.latency import one_image_probes, percentile
from bench.memory import CpuMeter
from bench.partial_run import measure_into_last_results
from bench.probe_stages import stages_ms, topics_now
from bench.stack import BenchStack, running_bench_stack
from bench.throughput import IMAGES_PER_ROW, pipeline_images_per_s, warm_up
from imgpipe.contract.messages import FINISHED_STATUSES

# Rows of each batch: at least the issue's 20,000, about 40 s each at this machine's 500 rows/s.
FAIRNESS_ROWS = 20_000
PROBES = 8
ROUNDS = 2  # of the batch and the photos with the scheduling and without
THOUSAND = 1000
POLL_S = 0.25
WEIGHTS = {"even-a": 1.0, "even-b": 1.0, "storefront": 4.0, "nightly-sync": 1.0}


def _key(name: str) -> str:
    return f"bench-key-{name}"


def write_keys_file(path: Path) -> Path:
    tables = [
        f'[[keys]]\nname = "{name}"\nsha256 = "{hashlib.sha256(_key(name).encode()).hexdigest()}"\n'
        f"weight = {weight}\n"
        for name, weight in WEIGHTS.items()
    ]
    path.write_text("\n".join(tables))
    return path


def _rows_finished(status: dict[str, Any]) -> int:
    return int(status["rows"]["done"]) + int(status["rows"]["failed"])


def _batch_csv(small_images_url: str, rows: int) -> bytes:
    return product_csv([[url] for url in fresh_urls(batch_urls(small_images_url, rows))])


def _thousand_seconds(base_url: str, urls: Sequence[str]) -> float:
    with httpx.Client(timeout=60) as client:
        csv_file = product_csv([[url] for url in fresh_urls(urls)])
        return time_to_completed(client, base_url, csv_file, poll_s=0.05, timeout_s=600)[0]


def batch_rows_per_s(base_url: str, small_images_url: str, rows: int) -> float:
    with httpx.Client(timeout=600) as client:
        seconds, _ = time_to_completed(
            client, base_url, _batch_csv(small_images_url, rows), poll_s=POLL_S, timeout_s=1800
        )
    return rows / seconds


def _probed(stack: BenchStack, probe_urls: Sequence[str]) -> tuple[list[float], dict[str, float]]:
    """One-image latencies (ms), one request after the other, and their stages' medians."""
    since = topics_now(stack.settings)
    probes = one_image_probes(stack.base_url, fresh_urls(probe_urls))
    return [probe.latency_ms for probe in probes], stages_ms(stack.settings, since, probes)


def _beside_a_batch(
    stack: BenchStack,
    small_images_url: str,
    rows: int,
    probe_urls: Sequence[str],
    thousand_urls: Sequence[str],
) -> tuple[list[float], dict[str, float], float, bool]:
    """One-image latencies and their stages, and the 1,000-row request's seconds, while a batch is
    under way, and whether the batch was still under way when they were done (else the batch was
    too small)."""
    base_url = stack.base_url
    with httpx.Client(timeout=600) as client:
        batch_id = upload(client, base_url, _batch_csv(small_images_url, rows))
        while _rows_finished(client.get(f"{base_url}/status/{batch_id}").json()) < rows // 20:
            time.sleep(POLL_S)
        latencies, stages = _probed(stack, probe_urls)
        thousand = _thousand_seconds(base_url, thousand_urls)
        outlasted = _rows_finished(client.get(f"{base_url}/status/{batch_id}").json()) < rows
        wait_finished(client, base_url, batch_id, poll_s=POLL_S, timeout_s=1800)
    return latencies, stages, thousand, outlasted


@dataclass
class _Progress:
    """One key's batch, followed by polling its status."""

    base_url: str
    key: str
    csv_file: bytes
    request_id: str = ""
    finished_at: float | None = None
    samples: list[tuple[float, int]] | None = None

    def run(self, start: threading.Barrier) -> None:
        headers = {"X-API-Key": self.key}
        self.samples = []
        with httpx.Client(timeout=600, headers=headers) as client:
            start.wait()
            self.request_id = upload(client, self.base_url, self.csv_file)
            while self.finished_at is None:
                status = client.get(f"{self.base_url}/status/{self.request_id}").json()
                now = time.monotonic()
                self.samples.append((now, _rows_finished(status)))
                if status["status"] in FINISHED_STATUSES:
                    self.finished_at = now
                time.sleep(POLL_S)

    def rows_by(self, moment: float) -> int:
        assert self.samples is not None
        return max([rows for at, rows in self.samples if at <= moment], default=0)


def share_of_first(base_url: str, small_images_url: str, rows: int, first: str, second: str) -> float:
    """The first key's share of the rows both keys' batches finished while both ran."""
    batches = [
        _Progress(base_url, _key(name), _batch_csv(small_images_url, rows)) for name in (first, second)
    ]
    start = threading.Barrier(len(batches))
    threads = [threading.Thread(target=batch.run, args=(start,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Both run from the first sample on; the window ends when the first of them finished.
    end = min(batch.finished_at or 0.0 for batch in batches)
    done = [batch.rows_by(end) for batch in batches]
    return done[0] / sum(done)


def _processes(stack: BenchStack) -> dict[str, int]:
    """The stack's processes, this driver (it polls as a client would) and the image server: what
    "everything else" leaves is the rest of the machine."""
    return {**stack.running_pids(), "benchmark driver": os.getpid(), "image server": image_server_pid()}


@dataclass
class _Mode:
    """The batch and the photos with the scheduling on, or off."""

    batch_rows_per_s: float = 0.0  # the best run's
    photos_per_s: float = 0.0  # the best run's
    batch_rows: int = 0  # of every run
    batch_cpu_s: dict[str, float] = field(default_factory=dict)  # by process, over every batch run

    def cpu_s_per_1000_rows(self) -> dict[str, float]:
        return {name: 1000 * seconds / self.batch_rows for name, seconds in self.batch_cpu_s.items()}


def _with_and_without_scheduling(
    stack: BenchStack, small_images_url: str, photo_urls: Sequence[str], rows: int
) -> tuple[_Mode, _Mode]:
    """The batch and the photos with the scheduling and with it off, in turn, twice, the best of
    each: this machine's speed drifts by a tenth within minutes, as much as the difference."""
    modes = {"on": _Mode(), "off": _Mode()}
    for _ in range(ROUNDS):
        for name, environment in (("on", {}), ("off", {"IMGPIPE_SCHEDULED_ROWS": "0"})):
            mode = modes[name]
            stack.restart_gateway(environment)
            meter = CpuMeter(_processes(stack))
            batch = batch_rows_per_s(stack.base_url, small_images_url, rows)
            for process, seconds in meter.spent().items():
                mode.batch_cpu_s[process] = mode.batch_cpu_s.get(process, 0.0) + seconds
            mode.batch_rows += rows
            photos = pipeline_images_per_s(stack.base_url, photo_urls, IMAGES_PER_ROW)
            mode.batch_rows_per_s = max(mode.batch_rows_per_s, batch)
            mode.photos_per_s = max(mode.photos_per_s, photos)
    return modes["on"], modes["off"]


def measure_fairness(
    stack: BenchStack, small_images_url: str, photo_urls: Sequence[str], rows: int
) -> dict[str, Any]:
    base_url = stack.base_url
    probe_urls = batch_urls(small_images_url, PROBES)
    thousand_urls = batch_urls(small_images_url, THOUSAND)
    idle_ms, idle_stages = _probed(stack, probe_urls)
    thousand_alone = _thousand_seconds(base_url, thousand_urls)
    busy_ms, busy_stages, thousand_busy, outlasted = _beside_a_batch(
        stack, small_images_url, rows, probe_urls, thousand_urls
    )
    idle_p50, busy_p50 = percentile(idle_ms, 0.5), percentile(busy_ms, 0.5)
    print(f"  one image idle p50 {idle_p50:.0f} ms, beside a batch {busy_p50:.0f} ms", flush=True)
    print(f"  stages idle {idle_stages}, beside a batch {busy_stages}", flush=True)
    scheduled, unscheduled = _with_and_without_scheduling(stack, small_images_url, photo_urls, rows)
    print(
        f"  batch {scheduled.batch_rows_per_s:.0f} rows/s scheduled, "
        f"{unscheduled.batch_rows_per_s:.0f} first come first served; CPU s per 1,000 rows "
        f"{scheduled.cpu_s_per_1000_rows()} scheduled, {unscheduled.cpu_s_per_1000_rows()} not",
        flush=True,
    )
    keys_file = write_keys_file(stack.paths.root / "bench-keys.toml")
    stack.restart_gateway({"IMGPIPE_API_KEYS_FILE": str(keys_file)})
    even = share_of_first(base_url, small_images_url, rows, "even-a", "even-b")
    weighted = share_of_first(base_url, small_images_url, rows, "storefront", "nightly-sync")
    print(f"  equal keys {even:.2f} / {1 - even:.2f}, weights 4:1 {weighted:.2f}", flush=True)
    stack.restart_gateway({})
    expected_weighted = WEIGHTS["storefront"] / (WEIGHTS["storefront"] + WEIGHTS["nightly-sync"])
    return {
        "batch_rows": rows,
        "idle_p50_ms": idle_p50,
        "busy_p50_ms": busy_p50,
        "busy_max_ms": max(busy_ms),
        "ratio": busy_p50 / idle_p50,
        "idle_samples_ms": idle_ms,
        "busy_samples_ms": busy_ms,
        "stages_idle_ms": idle_stages,
        "stages_busy_ms": busy_stages,
        "thousand_alone_s": thousand_alone,
        "thousand_busy_s": thousand_busy,
        "thousand_ratio": thousand_busy / thousand_alone,
        "batch_outlasted_probes": outlasted,
        "share_min": min(even, 1 - even),
        "weighted_share": weighted,
        "weighted_error": abs(weighted / expected_weighted - 1),
        "batch_scheduled_rows_per_s": scheduled.batch_rows_per_s,
        "batch_unscheduled_rows_per_s": unscheduled.batch_rows_per_s,
        "batch_ratio": scheduled.batch_rows_per_s / unscheduled.batch_rows_per_s,
        "cpu_s_per_1000_rows_scheduled": scheduled.cpu_s_per_1000_rows(),
        "cpu_s_per_1000_rows_unscheduled": unscheduled.cpu_s_per_1000_rows(),
        "photos_scheduled_images_per_s": scheduled.photos_per_s,
        "photos_unscheduled_images_per_s": unscheduled.photos_per_s,
        "throughput_ratio": scheduled.photos_per_s / unscheduled.photos_per_s,
    }


def main() -> None:
    """Measure fairness alone on a fresh bench stack and put it into the last `make bench`'s results."""
    parser = argparse.ArgumentParser(prog="python -m bench.fairness")
    parser.add_argument("--rows", type=int, default=FAIRNESS_ROWS, help="rows of each batch")
    rows = parser.parse_args().rows

    def measure_alone(results: dict[str, Any], image_dir: Path) -> dict[str, Any]:
        ensure_small_images(image_dir)
        base = f"http://127.0.0.1:{IMAGE_SERVER_PORT}"
        images = sorted(image_dir.glob("*.jpg"))[: results["sizes"]["images"]]
        photo_urls = [f"{base}/{path.name}" for path in images]
        with running_bench_stack(IMAGE_SERVER_PORT, processors=2) as stack:
            warm_up(stack.base_url, photo_urls, IMAGES_PER_ROW)
            return measure_fairness(stack, f"{base}/{SMALL_IMAGES_PATH}", photo_urls, rows)

    measure_into_last_results("fairness", measure_alone)


if __name__ == "__main__":
    main()
