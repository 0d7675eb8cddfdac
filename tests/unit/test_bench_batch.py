"""The small-image batch benchmark's pieces: its URLs, its CSV, the plain-script limit, and the
million-row lines kept in BENCHMARKS.md."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bench.batch import batch_urls, write_batch_csv
from bench.image_server import image_app
from bench.raw_batch import fetch_and_recompress
from bench.report import MILLION_ROW_HEADING, million_row_section, with_million_row_run
from imgpipe.config.settings import Settings
from processors.compress import compress_jpeg
from tests.support.photos import photo_like_image


def test_every_row_has_a_url_of_its_own() -> None:
    urls = batch_urls("http://127.0.0.1:1/small", 1000)
    assert len(set(urls)) == 1000
    assert urls[0] == "http://127.0.0.1:1/small/00000.jpg?row=0"
    assert urls[150] == "http://127.0.0.1:1/small/00050.jpg?row=150"


def test_batch_csv_has_one_product_per_url(tmp_path: Path) -> None:
    urls = batch_urls("http://127.0.0.1:1/small", 3)
    path = write_batch_csv(tmp_path / "batch.csv", urls)
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["S. No.", "Product Name", "Input Image Urls"]
    assert rows[1:] == [[str(n), f"Product {n}", url] for n, url in enumerate(urls, 1)]


@pytest.fixture
async def image_server(tmp_path: Path) -> AsyncIterator[str]:
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "00000.jpg").write_bytes(photo_like_image(64, 48, 0))
    server = TestServer(image_app(tmp_path))
    await server.start_server()
    yield str(server.make_url("/small"))
    await server.close()


async def test_the_plain_script_fetches_and_recompresses_every_url(image_server: str) -> None:
    # Distinct query strings, one file: the image server serves it under each of them.
    urls = [f"{image_server}/00000.jpg?row={n}" for n in range(3)]
    settings = Settings(jpeg_quality=50)
    written = await fetch_and_recompress(urls, settings, concurrency=2)
    one = compress_jpeg(photo_like_image(64, 48, 0), 50, settings.max_image_pixels, progressive=False)
    assert written == 3 * len(one.data)


async def test_the_plain_script_fails_loudly_on_a_missing_image(image_server: str) -> None:
    with pytest.raises(Exception, match="404"):
        await fetch_and_recompress([f"{image_server}/99999.jpg?row=0"], Settings(), concurrency=1)


def _run(rows: int) -> dict[str, object]:
    services = ("gateway", "processor-1", "processor-2", "aggregator")
    return {
        "finished_at": "2026-11-28 12:00",
        "rows": rows,
        "seconds": 400.0,
        "rows_per_s": rows / 400,
        "results_seconds": 300.0,
        "peak_rss_mb": dict.fromkeys(services, 120.0),
        "load_average_1m": 0.5,
    }


def test_million_row_runs_are_appended_and_kept() -> None:
    benchmarks = "# Benchmarks\n\n| figure | measured |\n"
    assert million_row_section(benchmarks) == ""

    once = with_million_row_run(benchmarks, _run(1_000_000))
    twice = with_million_row_run(once, _run(500_000))

    assert twice.startswith(benchmarks)
    section = million_row_section(twice)
    assert section.startswith(MILLION_ROW_HEADING)
    lines = [line for line in section.splitlines() if line.startswith("| 2026")]
    assert lines == [
        "| 2026-11-28 12:00 | 1,000,000 | 400 s | 2,500 | 300 s | 120 / 120 / 120 / 120 | 0.50 |",
        "| 2026-11-28 12:00 | 500,000 | 400 s | 1,250 | 300 s | 120 / 120 / 120 / 120 | 0.50 |",
    ]
