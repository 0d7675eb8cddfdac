"""storage.s3_ratio: the throughput upload on file storage, then on S3 (a local SeaweedFS).

Each measurement gets a fresh bench stack, a warm-up upload, then the throughput upload with two
workers. Files, then S3, then files and S3 again, the best of each counted: this machine's speed
drifts within minutes, and backends measured in turn, twice, meet the drift alike (measured one
after the other only, the ratio came out 0.80 in one run and 0.95 in the next). Part of `make
bench`; `python -m bench.storage` runs it alone (`make bench-storage`) and updates
bench/results.json and BENCHMARKS.md with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.image_server import IMAGE_SERVER_PORT
from bench.partial_run import measure_into_last_results
from bench.stack import S3_BUCKET, running_bench_stack
from bench.throughput import pipeline_images_per_s, warm_up

ROUNDS = 2


def _images_per_s(storage_url: str | None, urls: list[str], images_per_row: int) -> float:
    with running_bench_stack(IMAGE_SERVER_PORT, processors=2, storage_url=storage_url) as stack:
        warm_up(stack.base_url, urls, images_per_row)
        rate = pipeline_images_per_s(stack.base_url, urls, images_per_row)
    print(f"  {stack.settings.storage_url.split(':')[0]}: {rate:.0f} images/s", flush=True)
    return rate


def measure_storage(image_dir: Path, images: int, images_per_row: int) -> dict[str, float]:
    """Images per second on each backend; the image server must be running."""
    base = f"http://127.0.0.1:{IMAGE_SERVER_PORT}"
    urls = [f"{base}/{path.name}" for path in sorted(image_dir.glob("*.jpg"))[:images]]
    backends = (None, f"s3://{S3_BUCKET}")
    rates: dict[str | None, list[float]] = {backend: [] for backend in backends}
    for _ in range(ROUNDS):
        for backend in backends:
            rates[backend].append(_images_per_s(backend, urls, images_per_row))
    file_rate, s3_rate = (max(rates[backend]) for backend in backends)
    return {"file_images_per_s": file_rate, "s3_images_per_s": s3_rate, "s3_ratio": s3_rate / file_rate}


def _measure_alone(results: dict[str, Any], image_dir: Path) -> dict[str, Any]:
    sizes = results["sizes"]
    return {**measure_storage(image_dir, sizes["images"], sizes["images_per_row"])}


def main() -> None:
    """Measure storage alone and put it into the results of the last `make bench`."""
    measure_into_last_results("storage", _measure_alone)


if __name__ == "__main__":
    main()
