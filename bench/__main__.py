"""`python -m bench` (`make bench`): the figures of issues #5 and #11, measured side by side in one run.

1. throughput: raw Pillow on every core vs the whole pipeline with 2 workers;
2. ingestion: a 1,000,000-row upload with no processor running vs a raw aiokafka producer (the
   scheduling off: it publishes rows only as rows finish);
3. latency: sequential one-image requests, upload to completed;
4. scale-out: the pipeline with 1 worker vs 2;
5. batch: 100,000 rows of one small image each, with 2 workers, vs a plain aiohttp + Pillow
   script doing the same fetches and recompressions, and each service's peak memory;
6. aggregator: 100,000 results put straight on imgpipe.results, stored and counted;
7. batch.latency_ratio: the one-image latency once 1,000,000 more finished rows are stored
   (through the store's own functions, bench/stored_rows.py), over the fresh database's;
8. bytes: the outputs' size and PSNR against Pillow's plain save of the same pixels, and
   progressive against baseline JPEG (bench/fidelity.py); colour: what colour management costs
   per image (bench/colour_cost.py); variants: WebP and AVIF against JPEG at equal SSIM, and what
   a variant adds to the shared decode (bench/variants.py);
9. storage: the throughput upload with 2 workers on a fresh stack storing in files, then on one
   storing in SeaweedFS over S3 (storage.s3_ratio, bench/storage.py);
10. cache and dedup: the throughput CSV uploaded twice (cache.second_run_speedup, with the second
   run's compressions), and a CSV with every URL 5 times (dedup.fetch_ratio) (bench/work_saved.py);
11. fairness: one-image and 1,000-row requests beside a batch, two keys' shares, and the batch and
   photo throughput with the scheduling and without (bench/fairness.py).

Every upload that measures work uses URLs no earlier upload used (bench/image_server.py), so the
source cache and the content-addressed outputs never spare it any work.

`--smoke` runs the same code on tiny sizes (part of `make test`); it checks that the benchmark
works, not how fast anything is. `--batch-rows` sets the batch's size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.batch import SMALL_IMAGES_PATH, batch_urls, ensure_small_images, run_batch, write_batch_csv
from bench.colour_cost import colour_cost
from bench.fairness import FAIRNESS_ROWS, measure_fairness
from bench.fidelity import output_bytes, progressive_against_baseline
from bench.image_server import IMAGE_SERVER_PORT, fresh_urls, start_image_server
from bench.image_set import CACHE, ensure_image_set
from bench.ingestion import ensure_ingestion_csv, gateway_rows_per_s, raw_producer_rows_per_s
from bench.latency import one_image_latencies_ms, percentile
from bench.memory import peak_rss_mb
from bench.raw_batch import raw_rows_per_s
from bench.report import benchmarks_markdown, machine, million_row_section, table, write_outputs
from bench.retention import EXPIRING_ROWS, measure_retention
from bench.stack import BenchStack, delete_set_aside_states, running_bench_stack
from bench.storage import measure_storage
from bench.stored_rows import aggregator_rows_per_s
from bench.throughput import IMAGES_PER_ROW, pipeline_images_per_s, raw_images_per_s, warm_up
from bench.variant_throughput import presets_throughput
from bench.variants import VARIANT_IMAGES, measure_variants
from bench.work_saved import dedup_fetch_ratio, second_run_speedup
from devstack.paths import ROOT
from processors.image_memory import keep_freed_memory


@dataclass(frozen=True)
class Sizes:
    images: int
    images_per_row: int
    ingestion_rows: int
    latency_requests: int
    batch_rows: int
    aggregator_rows: int
    stored_rows: int
    fidelity_images: int
    colour_images: int
    variant_images: int
    variant_efforts_scanned: bool
    dedup_urls: int
    fairness_rows: int
    expiring_rows: int


FULL = Sizes(
    images=2000,
    images_per_row=IMAGES_PER_ROW,
    ingestion_rows=1_000_000,
    latency_requests=50,
    batch_rows=100_000,
    aggregator_rows=100_000,
    stored_rows=1_000_000,
    fidelity_images=200,
    colour_images=20,
    variant_images=VARIANT_IMAGES,
    variant_efforts_scanned=True,
    dedup_urls=400,
    fairness_rows=FAIRNESS_ROWS,
    expiring_rows=EXPIRING_ROWS,
)
SMOKE = Sizes(
    images=20,
    images_per_row=IMAGES_PER_ROW,
    ingestion_rows=2_000,
    latency_requests=3,
    batch_rows=200,
    aggregator_rows=500,
    stored_rows=2_000,
    fidelity_images=5,
    colour_images=2,
    variant_images=2,
    # The efforts' scan takes minutes (AVIF's slow speeds).
    variant_efforts_scanned=False,
    dedup_urls=4,
    fairness_rows=300,
    expiring_rows=1_000,
)


def _measure(stack: BenchStack, sizes: Sizes, image_dir: Path) -> dict[str, Any]:
    base = f"http://127.0.0.1:{IMAGE_SERVER_PORT}"
    image_paths = sorted(image_dir.glob("*.jpg"))[: sizes.images]
    urls = [f"{base}/{path.name}" for path in image_paths]

    print("warming up …", flush=True)
    warm_up(stack.base_url, urls, sizes.images_per_row)
    # Latency first, on a fresh database; again once it holds a million more finished rows.
    print("latency …", flush=True)
    latencies = one_image_latencies_ms(stack.base_url, fresh_urls(urls[: sizes.latency_requests]))
    print("throughput and scale-out …", flush=True)
    raw_one_core = raw_images_per_s(image_paths, stack.settings, processes=1)
    print(f"  raw on one core {raw_one_core:.0f} images/s", flush=True)
    # Two and one worker in turn, twice, and the best of each: the machine's noise hits both
    # alike, and so does the database growing with every run. The limit is measured again right
    # before each two-worker run and its best counted too: this machine's speed drifts within
    # minutes (raw Pillow measured anywhere from 196 to 306 images/s in one morning), and a
    # limit taken at one moment set against pipeline runs at another moved the ratio as much.
    raw = 0.0
    best: dict[int, float] = {2: 0.0, 1: 0.0}
    for workers in (2, 1, 2, 1):
        if workers == 2:
            raw = max(raw, raw_images_per_s(image_paths, stack.settings, processes=os.cpu_count() or 1))
            print(f"  raw {raw:.0f} images/s (best so far)", flush=True)
        stack.set_processors(workers)
        warm_up(stack.base_url, urls, sizes.images_per_row)
        rate = pipeline_images_per_s(stack.base_url, urls, sizes.images_per_row)
        print(f"  pipeline, {workers} worker(s): {rate:.0f} images/s", flush=True)
        best[workers] = max(best[workers], rate)
    two_workers, one_worker = best[2], best[1]
    print("output bytes and fidelity …", flush=True)
    some = sizes.fidelity_images
    images = [path.read_bytes() for path in image_paths[:some]]
    fidelity = output_bytes(stack.settings, stack.base_url, urls[:some], images, sizes.images_per_row)
    print(f"  {fidelity['ratio']:.3f} of plain Pillow's bytes", flush=True)
    jpeg = progressive_against_baseline(stack.settings, images)
    colour = colour_cost(sizes.colour_images)
    print("variants …", flush=True)
    variant_photos = image_paths[: sizes.variant_images]
    variants = measure_variants(variant_photos, stack.settings, sizes.variant_efforts_scanned)
    stack.set_processors(2)
    print("presets through the pipeline …", flush=True)
    variants |= presets_throughput(stack, urls, sizes.images_per_row)
    print("work saved: the same CSV twice, every URL 5 times …", flush=True)
    stats_url = f"{base}/_stats"
    cache = second_run_speedup(stack, 2, stats_url, urls, sizes.images_per_row)
    print(f"  second run {cache['second_run_speedup']:.1f} times faster", flush=True)
    dedup = dedup_fetch_ratio(stack, stats_url, urls[: sizes.dedup_urls], copies=5)
    print(f"  {dedup['fetch_ratio']:.2f} source requests per distinct URL", flush=True)
    # Before ingestion, which leaves its million rows on imgpipe.rows for no processor to take.
    print("small-image batch …", flush=True)
    batch = _measure_batch(stack, sizes.batch_rows, f"{base}/{SMALL_IMAGES_PATH}")
    print("fairness …", flush=True)
    fairness = measure_fairness(stack, f"{base}/{SMALL_IMAGES_PATH}", urls, sizes.fairness_rows)
    print("aggregator …", flush=True)
    aggregator_rate = aggregator_rows_per_s(stack.settings, sizes.aggregator_rows)
    print(f"  {aggregator_rate:.0f} rows/s stored and counted", flush=True)
    print(f"retention, then latency with {sizes.stored_rows:,} more finished rows stored …", flush=True)
    retention = measure_retention(stack, sizes.stored_rows, sizes.expiring_rows)
    unused = urls[sizes.latency_requests : 2 * sizes.latency_requests] or urls[: sizes.latency_requests]
    latencies_stored = one_image_latencies_ms(stack.base_url, fresh_urls(unused))
    batch["latency_ratio"] = percentile(latencies_stored, 0.50) / percentile(latencies, 0.50)
    batch["stored_rows_p50_ms"] = percentile(latencies_stored, 0.50)
    print("ingestion …", flush=True)
    rows = sizes.ingestion_rows
    csv_path = ensure_ingestion_csv(CACHE / f"ingestion-{rows}.csv", rows, base)
    raw_rows = asyncio.run(raw_producer_rows_per_s(stack.settings, csv_path))
    print(f"  raw producer {raw_rows:.0f} rows/s", flush=True)
    stack.set_processors(0)  # only acceptance and publishing are measured
    # Unpaced: with the scheduling on, rows are published as rows finish, and none does here.
    stack.restart_gateway({"IMGPIPE_SCHEDULED_ROWS": "0"})
    csv_file = csv_path.read_bytes()
    gateway_rows = asyncio.run(gateway_rows_per_s(stack.settings, stack.base_url, csv_file, rows))
    return {
        "throughput": {
            "raw_images_per_s": raw,
            "pipeline_images_per_s": two_workers,
            "ratio": two_workers / raw,
        },
        "ingestion": {
            "raw_rows_per_s": raw_rows,
            "rows_per_s": gateway_rows,
            "ratio": gateway_rows / raw_rows,
            "peak_rss_mb": peak_rss_mb(stack.gateway_pid()),
        },
        "latency": {
            "p50_ms": percentile(latencies, 0.50),
            "p95_ms": percentile(latencies, 0.95),
            "p99_ms": percentile(latencies, 0.99),
            "samples_ms": latencies,
        },
        "scale_out": {
            "one_worker_images_per_s": one_worker,
            "two_workers_images_per_s": two_workers,
            "ratio": two_workers / one_worker,
            # What the cores themselves give, all of them against one: the ratio's ceiling.
            "raw_one_core_images_per_s": raw_one_core,
            "raw_ratio": raw / raw_one_core,
        },
        "batch": batch,
        "aggregator": {"rows_per_s": aggregator_rate, "rows": sizes.aggregator_rows},
        "bytes": fidelity,
        "jpeg": jpeg,
        "colour": colour,
        "variants": variants,
        "cache": cache,
        "dedup": dedup,
        "fairness": fairness,
        "retention": retention,
    }


def _measure_batch(stack: BenchStack, rows: int, image_base_url: str) -> dict[str, Any]:
    """The batch through the pipeline, and the same fetches and recompressions by a plain script."""
    urls = batch_urls(image_base_url, rows)
    load = os.getloadavg()[0]
    raw = raw_rows_per_s(urls, stack.settings, processes=os.cpu_count() or 1)
    print(f"  raw {raw:.0f} rows/s", flush=True)
    csv_path = write_batch_csv(CACHE / f"batch-{rows}.csv", urls)
    # Generous: the figure is the time taken, the timeout only stops a run that is stuck.
    run = run_batch(stack, csv_path, rows, timeout_s=600 + rows / 20)
    print(f"  pipeline {run.rows_per_s:.0f} rows/s (results {run.results_rows_per_s:.0f} rows/s)", flush=True)
    return {
        "raw_rows_per_s": raw,
        "rows_per_s": run.rows_per_s,
        "ratio": run.rows_per_s / raw,
        "results_rows_per_s": run.results_rows_per_s,
        "seconds": run.seconds,
        "results_seconds": run.results_seconds,
        "peak_rss_mb": run.peak_rss_mb,
        "load_average_1m": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the benchmark runs")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench", help="where results.json and the chart go"
    )
    parser.add_argument("--batch-rows", type=int, help="rows of the small-image batch (default: 100,000)")
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    # The limits decode and encode as a processor does, with its allocator setting too.
    keep_freed_memory()
    if args.batch_rows is not None:
        sizes = replace(sizes, batch_rows=args.batch_rows)
    print(f"generating {sizes.images} images (cached in {CACHE}) …", flush=True)
    image_dir = CACHE / "images"
    ensure_image_set(image_dir, sizes.images)
    ensure_small_images(image_dir)
    server = start_image_server(image_dir)
    try:
        with running_bench_stack(IMAGE_SERVER_PORT, processors=2) as stack:
            results = _measure(stack, sizes, image_dir)
        print("throughput on file storage, then on S3 storage (SeaweedFS) …", flush=True)
        results["storage"] = measure_storage(image_dir, sizes.images, sizes.images_per_row)
    finally:
        server.terminate()
        server.wait()
        delete_set_aside_states()
    results["measured_at"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    results["sizes"] = vars(sizes)
    results["machine"] = machine()
    results["smoke"] = args.smoke
    write_outputs(results, args.out)
    print(table(results))
    if not args.smoke:
        markdown = ROOT / "BENCHMARKS.md"
        kept = million_row_section(markdown.read_text()) if markdown.exists() else ""
        markdown.write_text(benchmarks_markdown(results, "make bench", kept))


if __name__ == "__main__":
    main()
