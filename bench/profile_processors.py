"""`python -m bench.profile_processors`: where a processor's time goes, on small images or photos.

Starts the bench stack, works a small upload through it to warm up, then uploads the measured
one and records every processor with py-spy (sampling at 100 Hz, `--nonblocking` so that the
processor is never paused) from the upload until every row's result is on imgpipe.results. The
measured upload is a small-image batch (`--rows`, one 64x48 JPEG per row) or, with `--photos N`,
the throughput benchmark's first N photos, as many per row as its CSV, under URLs never used
before. Prints the rate over that span; the CPU time every process of the machine's stack
(Kafka, the database, each service, the image server) spent per row or per photo meanwhile,
which says what the cores are shared out to; and, from the samples, the share of each
processor's busy time in each package (the innermost frame's) and in the functions that take
most of it (every frame). A busy sample is one where the thread was not waiting for I/O: with
more runnable threads than cores, that includes waiting for a core. The collapsed stacks are kept
for a flame graph (`.local/bench/profile/processor-N.txt`, flamegraph.pl's input format).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from bench.batch import (
    SMALL_IMAGES_PATH,
    batch_urls,
    ensure_small_images,
    results_on_topic,
    run_batch,
    write_batch_csv,
)
from bench.client import product_csv
from bench.image_server import IMAGE_SERVER_PORT, fresh_urls, start_image_server
from bench.image_set import CACHE, ensure_image_set
from bench.memory import CpuMeter
from bench.stack import BenchStack, delete_set_aside_states, running_bench_stack
from bench.throughput import IMAGES_PER_ROW, rows_of, warm_up
from devstack.paths import VENV_PYTHON

PY_SPY = VENV_PYTHON.parent / "py-spy"
OUT = CACHE / "profile"
WARM_UP_ROWS = 500


def _frame_package(frame: str) -> str:
    """`fetch_image (processors/fetch.py)` → `processors`; `<module> (<frozen …>)` → `<frozen …>`."""
    where = frame[frame.rfind("(") + 1 : -1]
    return where.split("/", 1)[0] if "/" in where else where


def read_collapsed(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw output: one `frame;frame;… count` line per distinct stack, outermost first."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        stacks[tuple(frames.split(";"))] += int(count)
    return stacks


def busy_shares(stacks: Counter[tuple[str, ...]]) -> tuple[dict[str, float], dict[str, float]]:
    """(share of samples by the innermost frame's package, share of samples with each function
    anywhere on the stack), largest first."""
    total = sum(stacks.values())
    packages: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for frames, count in stacks.items():
        packages[_frame_package(frames[-1])] += count
        for frame in set(frames):
            functions[frame] += count
    return (
        {name: count / total for name, count in packages.most_common()},
        {name: count / total for name, count in functions.most_common()},
    )


async def _upload_and_wait(stack: BenchStack, csv_file: bytes, rows: int) -> float:
    """Seconds from the start of the upload until the last row's result is on imgpipe.results."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        partitions = stack.settings.results_partitions
        wanted = await results_on_topic(consumer, partitions) + rows
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=600) as client:
            files = {"file": ("products.csv", csv_file, "text/csv")}
            (await client.post(f"{stack.base_url}/upload", files=files)).raise_for_status()
        # Polled: the broker offers no notification of a topic's end offset moving.
        while await results_on_topic(consumer, partitions) < wanted:  # noqa: ASYNC110
            await asyncio.sleep(0.25)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Workload:
    unit: str  # what the figures are per: "row" or "photo"
    units: int
    rows: int  # results to wait for on imgpipe.results
    csv_file: bytes
    warm_up: Callable[[BenchStack], object]


def small_images(image_dir: Path, rows: int) -> Workload:
    ensure_small_images(image_dir)
    small_images_url = f"http://127.0.0.1:{IMAGE_SERVER_PORT}/{SMALL_IMAGES_PATH}"
    warm_up_csv, csv_path = (
        write_batch_csv(CACHE / f"batch-{count}.csv", batch_urls(small_images_url, count))
        for count in (WARM_UP_ROWS, rows)
    )
    return Workload(
        unit="row",
        units=rows,
        rows=rows,
        csv_file=csv_path.read_bytes(),
        warm_up=lambda stack: run_batch(stack, warm_up_csv, WARM_UP_ROWS, timeout_s=600),
    )


def photos(image_dir: Path, count: int) -> Workload:
    base = f"http://127.0.0.1:{IMAGE_SERVER_PORT}"
    urls = [f"{base}/{path.name}" for path in ensure_image_set(image_dir, count)]
    rows = rows_of(fresh_urls(urls), IMAGES_PER_ROW)
    return Workload(
        unit="photo",
        units=count,
        rows=len(rows),
        csv_file=product_csv(rows),
        warm_up=lambda stack: warm_up(stack.base_url, urls, IMAGES_PER_ROW),
    )


@dataclass(frozen=True)
class ProfiledUpload:
    units_per_s: float
    seconds: float
    cpu_seconds: dict[str, float]  # by process, over the same span, and the rest of the machine


def _profiled_upload(stack: BenchStack, image_server_pid: int, workload: Workload) -> ProfiledUpload:
    """Upload with py-spy on every processor; units/s until the last result is on the topic, and
    the CPU time of each process meanwhile."""
    pids = {**stack.running_pids(), "image server": image_server_pid}
    processors = {name: pid for name, pid in pids.items() if name.startswith("processor")}
    OUT.mkdir(parents=True, exist_ok=True)
    recorders = [
        subprocess.Popen(
            [str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "--nolineno", "--nonblocking",
             "--rate", "100", "--output", str(OUT / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
        )
        for name, pid in processors.items()
    ]  # fmt: skip
    meter = CpuMeter(pids)
    elapsed = asyncio.run(_upload_and_wait(stack, workload.csv_file, workload.rows))
    cpu = meter.spent()  # "everything else": this driver, py-spy, whatever else the machine ran
    for recorder in recorders:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        recorder.wait(timeout=60)
    return ProfiledUpload(workload.units / elapsed, elapsed, cpu)


def _print_shares(title: str, shares: dict[str, float], top: int) -> None:
    print(title)
    for name, share in list(shares.items())[:top]:
        print(f"  {100 * share:5.1f} %  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_processors")
    parser.add_argument("--rows", type=int, default=20_000, help="small-image rows")
    parser.add_argument(
        "--photos", type=int, help=f"profile this many photos instead ({IMAGES_PER_ROW} per row)"
    )
    parser.add_argument("--processors", type=int, default=2)
    parser.add_argument("--top", type=int, default=40, help="functions to list")
    args = parser.parse_args()
    image_dir = CACHE / "images"
    workload = small_images(image_dir, args.rows) if args.photos is None else photos(image_dir, args.photos)
    server = start_image_server(image_dir)
    try:
        with running_bench_stack(IMAGE_SERVER_PORT, processors=args.processors) as stack:
            workload.warm_up(stack)
            profiled = _profiled_upload(stack, server.pid, workload)
    finally:
        server.terminate()
        server.wait()
        delete_set_aside_states()
    unit = workload.unit
    print(
        f"{workload.units:,} {unit}s, {args.processors} processor(s): {profiled.units_per_s:,.0f} {unit}s/s "
        f"to imgpipe.results in {profiled.seconds:.1f} s"
    )
    cores = os.cpu_count() or 1
    offered_ms = 1000 * cores / profiled.units_per_s
    print(f"CPU time per {unit} meanwhile (the {cores} cores offered {offered_ms:.2f} ms a {unit}):")
    for name, seconds in sorted(profiled.cpu_seconds.items(), key=lambda item: -item[1]):
        print(f"  {1000 * seconds / workload.units:5.2f} ms  {name}")
    print(f"  {1000 * sum(profiled.cpu_seconds.values()) / workload.units:5.2f} ms  all of them")
    for path in sorted(OUT.glob("processor-*.txt")):
        packages, functions = busy_shares(read_collapsed(path))
        print(f"\n{path.stem} ({path}):")
        _print_shares("busy samples by package (innermost frame):", packages, 15)
        _print_shares("busy samples by function (anywhere on the stack):", functions, args.top)


if __name__ == "__main__":
    main()
