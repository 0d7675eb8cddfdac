"""`python -m bench.big_batch` (`make bench-batch`): a 1,000,000-row small-image CSV end to end.

On the bench stack with two processors, as `make bench`'s batch but ten times larger and alone:
from the start of the upload until status says `completed`, then the output CSV downloaded
(streamed) and checked row by row. Its time and each service's peak memory are added as one
line to BENCHMARKS.md. It takes long, so it is part of neither `make test` nor `make bench`.
"""

from __future__ import annotations

import argparse
import csv
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx

from bench.batch import (
    SMALL_IMAGES_PATH,
    BatchRun,
    batch_urls,
    ensure_small_images,
    run_batch,
    write_batch_csv,
)
from bench.image_server import IMAGE_SERVER_PORT, start_image_server
from bench.image_set import CACHE
from bench.report import with_million_row_run
from bench.stack import delete_set_aside_states, running_bench_stack
from devstack.paths import ROOT


def _output_rows(base_url: str, request_id: str) -> Iterator[list[str]]:
    with (
        httpx.Client(timeout=600) as client,
        client.stream("GET", f"{base_url}/download/{request_id}") as response,
    ):
        response.raise_for_status()
        yield from csv.reader(response.iter_lines())


def check_output_csv(base_url: str, run: BatchRun, urls: list[str]) -> None:
    """Every row in input order, with its own input URL and one output image."""
    rows = _output_rows(base_url, run.request_id)
    next(rows)  # the header
    output_prefix = f"{base_url}/processed_images/outputs/"
    count = 0
    for count, (serial, _, input_url, output_url) in enumerate(rows, 1):
        if serial != str(count) or input_url != urls[count - 1] or not output_url.startswith(output_prefix):
            raise AssertionError(f"output row {count} is wrong: {serial}, {input_url}, {output_url}")
    if count != len(urls):
        raise AssertionError(f"the output CSV has {count} rows, not {len(urls)}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.big_batch")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    image_dir = CACHE / "images"
    ensure_small_images(image_dir)
    urls = batch_urls(f"http://127.0.0.1:{IMAGE_SERVER_PORT}/{SMALL_IMAGES_PATH}", args.rows)
    csv_path = write_batch_csv(CACHE / f"batch-{args.rows}.csv", urls)
    server = start_image_server(image_dir)
    try:
        with running_bench_stack(IMAGE_SERVER_PORT, processors=2) as stack:
            load = os.getloadavg()[0]
            run = run_batch(stack, csv_path, args.rows, timeout_s=12 * 3600)
            print(f"completed in {run.seconds:.0f} s: {run.rows_per_s:.0f} rows/s", flush=True)
            check_output_csv(stack.base_url, run, urls)
    finally:
        server.terminate()
        server.wait()
        delete_set_aside_states()
    line = {
        "finished_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        "rows": run.rows,
        "seconds": run.seconds,
        "rows_per_s": run.rows_per_s,
        "results_seconds": run.results_seconds,
        "peak_rss_mb": run.peak_rss_mb,
        "load_average_1m": load,
    }
    print(line, flush=True)
    markdown = ROOT / "BENCHMARKS.md"
    markdown.write_text(with_million_row_run(markdown.read_text(), line))


if __name__ == "__main__":
    main()
