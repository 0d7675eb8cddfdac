"""One section of `make bench` measured alone (`make bench-storage`, `make bench-fairness`), put
into the results of the last full run: bench/results.json and BENCHMARKS.md."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.image_server import start_image_server
from bench.image_set import CACHE, ensure_image_set
from bench.report import benchmarks_markdown, million_row_section, table, write_outputs
from bench.stack import delete_set_aside_states
from devstack.paths import ROOT

# (the last full run's results, the image server's directory) -> the section's figures
Measure = Callable[[dict[str, Any], Path], dict[str, Any]]


def measure_into_last_results(section: str, measure: Measure) -> None:
    """Run `measure` with the bench's image server up, and record its figures as `section`."""
    results_path = ROOT / "bench" / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text())
    image_dir = CACHE / "images"
    ensure_image_set(image_dir, results["sizes"]["images"])
    server = start_image_server(image_dir)
    try:
        figures = measure(results, image_dir)
        # Not the time of the rest of the results, which came from an earlier run.
        figures["measured_at"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        results[section] = figures
    finally:
        server.terminate()
        server.wait()
        delete_set_aside_states()
    write_outputs(results, results_path.parent)
    markdown = ROOT / "BENCHMARKS.md"
    kept = million_row_section(markdown.read_text()) if markdown.exists() else ""
    markdown.write_text(benchmarks_markdown(results, "make bench", kept))
    print(table(results))
