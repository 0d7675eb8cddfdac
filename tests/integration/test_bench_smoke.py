"""`make bench` on tiny sizes: every figure is measured and reported, the chart is drawn.

Speed is not checked here (that is what `make bench` is for); only that the benchmark runs end
to end on a stack of its own and writes what BENCHMARKS.md is built from.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench.report import BATCH_SERVICES, TARGETS, value_at
from bench.stack import SET_ASIDE_DIR, STATE_DIR
from devstack.paths import ROOT, VENV_PYTHON
from tests.support.backends import needs_local_infrastructure

pytestmark = pytest.mark.integration

BATCH_ROWS = 250  # the batch's size is a parameter: small here, 100,000 in `make bench`


# `make bench` provisions a local stack of its own, whatever the test backend.
@needs_local_infrastructure
def test_smoke_benchmark_reports_every_figure(tmp_path: Path) -> None:
    benchmarks_md = (ROOT / "BENCHMARKS.md").read_bytes() if (ROOT / "BENCHMARKS.md").exists() else None
    earlier_state = STATE_DIR / "left-by-an-earlier-run"
    earlier_state.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [str(VENV_PYTHON), "-m", "bench", "--smoke", "--batch-rows", str(BATCH_ROWS), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # Each stack set the previous one's state aside rather than deleting it while measuring; all of
    # it is deleted once the command is done, and only the last stack's state is left.
    assert not earlier_state.exists() and not SET_ASIDE_DIR.exists()
    assert (STATE_DIR / "logs").is_dir()

    results = json.loads((tmp_path / "results.json").read_text())
    # 0 when the pixels are the same, as they are; 0 when nothing is compressed twice, as it is not.
    zero = {"bytes.psnr_difference_db", "cache.second_run_compressions"}
    for target in [target for target in TARGETS if target.measured_by == "make bench"]:
        if target.key not in zero:
            assert value_at(results, target.key) > 0, target.key
        assert target.label in run.stdout  # the printed table has a line per figure
    size = results["bytes"]
    assert size["ratio"] == size["imgpipe_bytes"] / size["plain_bytes"]
    assert size["psnr_difference_db"] == size["imgpipe_psnr_db"] - size["plain_psnr_db"]
    assert size["images"] == results["sizes"]["fidelity_images"]
    throughput, scale_out = results["throughput"], results["scale_out"]
    assert throughput["ratio"] == throughput["pipeline_images_per_s"] / throughput["raw_images_per_s"]
    assert scale_out["ratio"] == scale_out["two_workers_images_per_s"] / scale_out["one_worker_images_per_s"]
    batch = results["batch"]
    assert results["sizes"]["batch_rows"] == BATCH_ROWS
    assert batch["ratio"] == batch["rows_per_s"] / batch["raw_rows_per_s"]
    assert batch["results_rows_per_s"] >= batch["rows_per_s"]  # results are published before completion
    assert set(batch["peak_rss_mb"]) == set(BATCH_SERVICES)
    cache, dedup = results["cache"], results["dedup"]
    assert cache["second_run_compressions"] == 0 and cache["first_run_compressions"] == cache["images"]
    assert cache["second_run_conditional_requests"] == cache["second_run_source_requests"] == cache["images"]
    assert (
        dedup["fetch_ratio"] == dedup["source_requests"] / dedup["distinct_urls"] <= 2
    )  # once per worker at most
    assert len(results["latency"]["samples_ms"]) == results["sizes"]["latency_requests"]
    assert results["latency"]["p50_ms"] <= results["latency"]["p99_ms"]
    assert (tmp_path / "throughput.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    # A smoke run must not pass itself off as the published figures.
    current = (ROOT / "BENCHMARKS.md").read_bytes() if (ROOT / "BENCHMARKS.md").exists() else None
    assert current == benchmarks_md
