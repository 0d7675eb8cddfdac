"""`cache` and `dedup`: the work imgpipe does not do twice, measured on the bench stack.

- cache.second_run_speedup: the throughput CSV uploaded twice, the first run's time over the
  second's. The second run's compressions are read from the processors' metrics
  (`imgpipe_compressions_total`), and the conditional GETs from the image server.
- dedup.fetch_ratio: a CSV in which each URL appears `copies` times, the k-th occurrence of URL i
  in row k·N + i, so every URL's occurrences are spread over the whole request and over both
  workers; requests at the source (full or conditional) over distinct URLs.

Both use URLs no earlier upload used (bench.image_server.fresh_urls), so the first run starts
with nothing cached or stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.client import product_csv, time_to_completed
from bench.image_server import fresh_urls, source_requests
from bench.stack import BenchStack
from bench.throughput import rows_of
from devstack.stack import metrics_port


def _compressions(stack: BenchStack, processors: int) -> float:
    total = 0.0
    for number in range(1, processors + 1):
        text = httpx.get(f"http://127.0.0.1:{metrics_port(stack.settings, number)}/metrics", timeout=10).text
        total += sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "imgpipe_compressions_total"
        )
    return total


def _timed_upload(
    client: httpx.Client, stack: BenchStack, rows: Sequence[Sequence[str]], images: int
) -> float:
    elapsed, status = time_to_completed(client, stack.base_url, product_csv(rows), poll_s=0.05, timeout_s=900)
    counts = status["images"]
    assert isinstance(counts, dict) and counts["done"] == images, status
    return elapsed


def second_run_speedup(
    stack: BenchStack, processors: int, stats_url: str, urls: Sequence[str], images_per_row: int
) -> dict[str, Any]:
    rows = rows_of(fresh_urls(urls), images_per_row)
    with httpx.Client(timeout=60) as client:
        before = _compressions(stack, processors)
        first_s = _timed_upload(client, stack, rows, len(urls))
        between = _compressions(stack, processors)
        requests_between, conditional_between = source_requests(stats_url)
        second_s = _timed_upload(client, stack, rows, len(urls))
        after = _compressions(stack, processors)
        requests_after, conditional_after = source_requests(stats_url)
    return {
        "images": len(urls),
        "first_run_s": first_s,
        "second_run_s": second_s,
        "second_run_speedup": first_s / second_s,
        "first_run_compressions": between - before,
        "second_run_compressions": after - between,
        "second_run_source_requests": requests_after - requests_between,
        "second_run_conditional_requests": conditional_after - conditional_between,
    }


def dedup_fetch_ratio(stack: BenchStack, stats_url: str, urls: Sequence[str], copies: int) -> dict[str, Any]:
    distinct = fresh_urls(urls)
    rows = [[distinct[row % len(distinct)]] for row in range(copies * len(distinct))]
    with httpx.Client(timeout=60) as client:
        requests_before, _ = source_requests(stats_url)
        seconds = _timed_upload(client, stack, rows, len(rows))
        requests_after, _ = source_requests(stats_url)
    source = requests_after - requests_before
    return {
        "distinct_urls": len(distinct),
        "copies": copies,
        "source_requests": source,
        "fetch_ratio": source / len(distinct),
        "seconds": seconds,
    }
