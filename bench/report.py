"""The benchmark's outputs: results.json, a table against the targets, a chart, BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a CI machine
import matplotlib.pyplot as plt


@dataclass(frozen=True)
class Target:
    key: str  # dotted path in results.json
    label: str
    unit: str
    at_least: float | None = None
    at_most: float | None = None

    def met(self, value: float) -> bool:
        return (self.at_least is None or value >= self.at_least) and (
            self.at_most is None or value <= self.at_most
        )

    def describe(self) -> str:
        return f"≥ {self.at_least:g}" if self.at_least is not None else f"≤ {self.at_most:g}"


TARGETS = (
    Target("throughput.raw_images_per_s", "raw Pillow, all cores", "images/s"),
    Target("throughput.pipeline_images_per_s", "full pipeline, 2 workers", "images/s"),
    Target("throughput.ratio", "pipeline / raw", "", at_least=0.75),
    Target("ingestion.raw_rows_per_s", "raw aiokafka producer", "rows/s"),
    Target("ingestion.rows_per_s", "upload → all rows on imgpipe.rows", "rows/s", at_least=50_000),
    Target("ingestion.ratio", "gateway / raw producer", "", at_least=0.8),
    Target("ingestion.peak_rss_mb", "gateway peak RSS", "MB", at_most=300),
    Target("latency.p50_ms", "one-image request, p50", "ms", at_most=300),
    Target("latency.p95_ms", "one-image request, p95", "ms"),
    Target("latency.p99_ms", "one-image request, p99", "ms", at_most=1000),
    Target("scale_out.one_worker_images_per_s", "pipeline, 1 worker", "images/s"),
    Target("scale_out.ratio", "2 workers / 1 worker", "", at_least=1.6),
    Target("scale_out.raw_ratio", "raw Pillow, all cores / one thread (the ceiling)", ""),
)


def value_at(results: dict[str, Any], key: str) -> float:
    section, name = key.split(".")
    return float(results[section][name])


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024**2, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def table(results: dict[str, Any]) -> str:
    lines = ["| figure | measured | target | |", "|---|---:|---|---|"]
    for target in TARGETS:
        value = value_at(results, target.key)
        shown = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
        if target.at_least is None and target.at_most is None:
            lines.append(f"| {target.label} | {shown} {target.unit} | | |")
        else:
            verdict = "met" if target.met(value) else "**not met**"
            lines.append(f"| {target.label} | {shown} {target.unit} | {target.describe()} | {verdict} |")
    return "\n".join(lines)


def draw_throughput_chart(results: dict[str, Any], path: Path) -> None:
    labels = ["raw Pillow\n(all cores)", "pipeline\n2 workers", "pipeline\n1 worker"]
    values = [
        value_at(results, "throughput.raw_images_per_s"),
        value_at(results, "throughput.pipeline_images_per_s"),
        value_at(results, "scale_out.one_worker_images_per_s"),
    ]
    figure, axes = plt.subplots(figsize=(6, 4))
    bars = axes.bar(labels, values, color=["#888888", "#2a7ab0", "#7fb3d5"])
    axes.bar_label(bars, labels=[f"{v:.0f}" for v in values])
    axes.set_ylabel("images per second")
    axes.set_title(
        f"1024x768 JPEG → quality 50: pipeline/raw {value_at(results, 'throughput.ratio'):.2f}, "
        f"2/1 workers {value_at(results, 'scale_out.ratio'):.2f}",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_outputs(results: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    draw_throughput_chart(results, out_dir / "throughput.png")


def benchmarks_markdown(results: dict[str, Any], command: str) -> str:
    host = results["machine"]
    sizes = results["sizes"]
    scale_out = results["scale_out"]
    ceiling = (
        f"What the cores give: raw Pillow on all of them is {scale_out['raw_ratio']:.2f} times raw "
        f"Pillow on one thread on this machine, and a second worker adds {scale_out['ratio']:.2f} "
        "times: the second core does not double the compute, so two workers cannot be expected to "
        "give 1.6 times one here."
    )
    return f"""# Benchmarks

Latest run: {results["measured_at"]}, with `{command}` (results in
`bench/results.json`, chart in `bench/throughput.png`).

Machine: {host["cpu"]}, {host["cores"]} cores, {host["memory_gib"]} GiB, Python {host["python"]},
{host["os"]}.
Everything ran on it at once: Kafka, FerretDB, the gateway, the workers, the image server and
the benchmark driver.

{table(results)}

![throughput](bench/throughput.png)

Sizes: {sizes["images"]} photo-like 1024x768 JPEGs ({sizes["images_per_row"]} per CSV row),
{sizes["ingestion_rows"]:,} ingestion rows, {sizes["latency_requests"]} latency requests.

{ceiling}

How each figure is measured, and what limits it: see the README's "Performance" section;
what they mean for sizing: [docs/SCALING.md](docs/SCALING.md).
"""
