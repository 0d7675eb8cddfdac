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

# The services whose peak memory the batch reports: the bench stack runs two processors.
BATCH_SERVICES = ("gateway", "processor-1", "processor-2", "aggregator")


@dataclass(frozen=True)
class Target:
    key: str  # dotted path in results.json
    label: str
    unit: str
    at_least: float | None = None
    at_most: float | None = None
    # The command that measures it: `make bench`, or one of its own (too long for every run).
    measured_by: str = "make bench"

    def met(self, value: float) -> bool:
        return (self.at_least is None or value >= self.at_least) and (
            self.at_most is None or value <= self.at_most
        )

    def describe_if_any(self) -> str:
        return "" if self.at_least is None and self.at_most is None else self.describe()

    def describe(self) -> str:
        return f"≥ {self.at_least:g}" if self.at_least is not None else f"≤ {self.at_most:g}"


TARGETS = (
    Target(
        "throughput.raw_images_per_s",
        "raw Pillow (imgpipe's decode and encode), a process per core",
        "images/s",
    ),
    Target("throughput.pipeline_images_per_s", "full pipeline, 2 workers", "images/s"),
    Target("throughput.ratio", "pipeline / raw", "", at_least=0.8),  # #5 asked 0.75, #13 0.8
    Target("ingestion.raw_rows_per_s", "raw aiokafka producer", "rows/s"),
    Target("ingestion.rows_per_s", "upload → all rows on imgpipe.rows", "rows/s", at_least=50_000),
    Target("ingestion.ratio", "gateway / raw producer", "", at_least=0.8),
    Target("ingestion.peak_rss_mb", "gateway peak RSS", "MB", at_most=300),
    Target("latency.p50_ms", "one-image request, p50", "ms", at_most=300),
    Target("latency.p95_ms", "one-image request, p95", "ms"),
    Target("latency.p99_ms", "one-image request, p99", "ms", at_most=1000),
    Target("scale_out.one_worker_images_per_s", "pipeline, 1 worker", "images/s"),
    Target("scale_out.ratio", "2 workers / 1 worker", "", at_least=1.6),
    Target("scale_out.raw_ratio", "raw Pillow, a process per core / one process (the ceiling)", ""),
    Target("batch.raw_rows_per_s", "small images: raw aiohttp + Pillow, all cores", "rows/s"),
    Target("batch.results_rows_per_s", "small images: upload → all results on imgpipe.results", "rows/s"),
    Target("batch.rows_per_s", "small images: upload → completed", "rows/s"),
    Target("batch.ratio", "small images: pipeline / raw", "", at_least=0.5),
    Target("aggregator.rows_per_s", "aggregator: results stored and counted", "rows/s", at_least=5_000),
    Target("batch.stored_rows_p50_ms", "one-image request, p50, 1,000,000 more rows stored", "ms"),
    Target("batch.latency_ratio", "one-image p50: 1,000,000 more rows stored / fresh", "", at_most=1.5),
    *(
        Target(f"batch.peak_rss_mb.{service}", f"small images: {service} peak RSS", "MB", at_most=300)
        for service in BATCH_SERVICES
    ),
    Target("bytes.ratio", "output bytes / Pillow's plain save of the same pixels", "", at_most=0.85),
    Target("bytes.imgpipe_psnr_db", "PSNR against the input: imgpipe", "dB"),
    Target("bytes.plain_psnr_db", "PSNR against the input: Pillow's plain save", "dB"),
    Target("bytes.psnr_difference_db", "PSNR: imgpipe minus plain save", "dB", at_least=-0.1),
    Target("jpeg.progressive_bytes_ratio", "progressive / baseline JPEG bytes", ""),
    Target("jpeg.progressive_time_ratio", "progressive / baseline JPEG encode time", ""),
    Target("colour.no_profile_ms", "compress one 1024x768 JPEG, no ICC profile", "ms"),
    Target("colour.srgb_ratio", "compress time: sRGB profile / no profile", "", at_most=1.05),
    Target("colour.adobe_rgb_ratio", "compress time: Adobe RGB profile (converted) / no profile", ""),
    Target(
        "variants.webp_bytes_ratio",
        "400 px WebP / JPEG bytes at equal SSIM (`make bench-variants`)",
        "",
        at_most=0.8,
    ),
    Target("variants.avif_bytes_ratio", "1024 px AVIF / JPEG bytes at equal SSIM", "", at_most=0.6),
    Target(
        "variants.thumb_cost", "a 400 px JPEG variant's time / the seed's decode and encode", "", at_most=0.5
    ),
    Target("variants.webp_thumb_cost", "the 400 px WebP thumbnail's time / the seed's decode and encode", ""),
    Target("variants.avif_large_cost", "the 1600 px AVIF variant's time / the seed's decode and encode", ""),
    Target("variants.throughput_ratio", "pipeline photos/s with the two default presets / with none", ""),
    Target("storage.file_images_per_s", "pipeline, 2 workers, file storage", "images/s"),
    Target("storage.s3_images_per_s", "pipeline, 2 workers, S3 storage (SeaweedFS)", "images/s"),
    Target("storage.s3_ratio", "S3 storage / file storage", "", at_least=0.9),
    Target("cache.second_run_speedup", "the same CSV again: first run's time / second's", "", at_least=5),
    Target("cache.second_run_compressions", "compressions in the second run", "", at_most=0),
    Target("dedup.fetch_ratio", "each URL 5 times: source requests / distinct URLs", "", at_most=1.2),
    Target("fairness.idle_p50_ms", "one-image request, p50, idle stack", "ms"),
    Target("fairness.busy_p50_ms", "one-image request, p50, beside a small-image batch", "ms"),
    Target("fairness.busy_max_ms", "one-image request, worst of 8, beside the batch", "ms", at_most=2000),
    Target("fairness.ratio", "one-image p50: beside the batch / idle", "", at_most=2),
    Target("fairness.thousand_ratio", "1,000-row request: beside the batch / alone", "", at_most=2),
    Target("fairness.share_min", "two equal keys' batches: the smaller share", "", at_least=0.4),
    Target(
        "fairness.weighted_error", "weights 4:1: larger share, relative error against 4/5", "", at_most=0.1
    ),
    Target("fairness.batch_ratio", "batch rows/s: scheduled / first come first served", "", at_least=0.95),
    Target("fairness.throughput_ratio", "photo throughput: scheduled / first come first served", ""),
    Target("retention.delete_rows_per_s", "expired rows deleted, beside 1,000,000 stored rows", "rows/s"),
    Target(
        "retention.delete_ratio",
        "rows deleted per second: beside 1,000,000 stored rows / beside none",
        "",
        at_least=0.8,
    ),
    Target(
        "retention.growth",
        "soak (`make bench-soak`): database, stored bytes or objects at the end / after the first third",
        "",
        at_most=1.1,
        measured_by="make bench-soak",
    ),
    Target(
        "retention.soak_latency_ratio",
        "soak (`make bench-soak`): one-image p50, last third / first third",
        "",
        measured_by="make bench-soak",
    ),
)


def value_at(results: dict[str, Any], key: str) -> float:
    value: Any = results
    for name in key.split("."):
        value = value[name]
    return float(value)


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
        try:
            value = value_at(results, target.key)
        except KeyError:  # a figure added since the results' `make bench` ran, or measured apart
            hint = f"not measured (`{target.measured_by}`)"
            lines.append(f"| {target.label} | {hint} | {target.describe_if_any()} | |")
            continue
        shown = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
        if target.at_least is None and target.at_most is None:
            lines.append(f"| {target.label} | {shown} {target.unit} | | |")
        else:
            verdict = "met" if target.met(value) else "**not met**"
            lines.append(f"| {target.label} | {shown} {target.unit} | {target.describe()} | {verdict} |")
    return "\n".join(lines)


def draw_throughput_chart(results: dict[str, Any], path: Path) -> None:
    labels = ["raw Pillow\n(a process per core)", "pipeline\n2 workers", "pipeline\n1 worker"]
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


MILLION_ROW_HEADING = "## The million-row batch (`make bench-batch`)"
_MILLION_ROW_INTRO = f"""{MILLION_ROW_HEADING}

One CSV of small images (64x48 JPEGs, one distinct URL per row) uploaded to the bench stack with
two processors, from the start of the upload until status says `completed`, then its output CSV
downloaded and checked row by row. Peak RSS is each service's VmHWM from the upload on. Each run
adds a line; `make bench` keeps them.

| finished (UTC) | rows | upload → completed | rows/s | upload → all results \
| peak RSS, MB ({" / ".join(BATCH_SERVICES)}) | load before |
|---|---:|---:|---:|---:|---|---:|
"""


def million_row_section(markdown: str) -> str:
    """The runs `make bench-batch` recorded in an existing BENCHMARKS.md ('' when none): the
    section is the file's last, from its heading on."""
    start = markdown.find(MILLION_ROW_HEADING)
    return markdown[start:] if start >= 0 else ""


def with_million_row_run(markdown: str, run: dict[str, Any]) -> str:
    """`markdown` with one more line in the million-row section (which is added when missing)."""
    if not million_row_section(markdown):
        markdown = f"{markdown.rstrip()}\n\n{_MILLION_ROW_INTRO}"
    peaks = " / ".join(f"{run['peak_rss_mb'][service]:.0f}" for service in BATCH_SERVICES)
    line = (
        f"| {run['finished_at']} | {run['rows']:,} | {run['seconds']:,.0f} s | {run['rows_per_s']:,.0f} "
        f"| {run['results_seconds']:,.0f} s | {peaks} | {run['load_average_1m']:.2f} |\n"
    )
    return markdown.rstrip("\n") + "\n" + line


def fidelity_text(results: dict[str, Any]) -> str:
    """The paragraph on output bytes, progressive JPEG and colour management."""
    size, jpeg, colour = results["bytes"], results["jpeg"], results["colour"]
    return (
        f"Output bytes: {size['images']} of the photos through the pipeline came to "
        f"{size['imgpipe_bytes']:,} bytes, against {size['plain_bytes']:,} for Pillow's plain "
        f"`save(quality={size['quality']})` of the same decoded pixels ({size['ratio']:.3f}); PSNR "
        f"against those pixels {size['imgpipe_psnr_db']:.2f} dB against {size['plain_psnr_db']:.2f} dB. "
        f"Progressive output of the same pixels: {jpeg['progressive_bytes_ratio']:.3f} times the "
        f"baseline bytes, {jpeg['progressive_time_ratio']:.2f} times the encode time "
        f"({jpeg['progressive_ms']:.1f} against {jpeg['baseline_ms']:.1f} ms per image), hence "
        f"`IMGPIPE_JPEG_PROGRESSIVE=false`. Colour management: {colour['no_profile_ms']:.2f} ms per "
        f"image without a profile, {colour['srgb_profile_ms']:.2f} ms with an sRGB one (skipped), "
        f"{colour['adobe_rgb_profile_ms']:.2f} ms with an Adobe RGB one (converted)."
    )


def variants_text(results: dict[str, Any]) -> str:
    """The paragraph on preset variants (bench/variants.py)."""
    if "variants" not in results:  # results of a `make bench` from before presets
        return "Variants: not measured in this run."
    made = results["variants"]
    when = made.get("measured_at", results["measured_at"])

    def against_jpeg(name: str) -> str:
        figures = made[name]
        scan = ", ".join(
            f"{effort}: q{tried['quality']} {tried['bytes_ratio']:.2f} in {tried['encode_ms']:.1f} ms"
            for effort, tried in figures["effort_scan"].items()
        )
        return (
            f"{name} at {figures['size']} px, quality {figures['quality']} (effort {figures['effort']}), "
            f"SSIM {figures['ssim']:.4f}, JPEG {figures['jpeg_quality']}'s {figures['jpeg_ssim']:.4f}: "
            f"{figures['bytes_ratio']:.3f} of its bytes (each effort: {scan})"
        )

    return (
        f"Variants ({when}): {made['images']} photos, decoded once; {against_jpeg('webp')}; "
        f"{against_jpeg('avif')}. Time per photo: the seed's output alone {made['seed_ms']:.2f} ms, a 400 px "
        f"JPEG variant {made['thumb_ms']:.2f} ms, the default WebP thumbnail {made['webp_thumb_ms']:.2f} ms, "
        f"the default AVIF large variant {made['avif_large_ms']:.2f} ms (presets `{made['presets']}`)."
        + (
            f" Through the pipeline (2 processors), {made['photos_with_presets_images_per_s']:.1f} photos/s "
            f"asking for both presets against {made['photos_images_per_s']:.1f} asking for none: "
            f"`variants.throughput_ratio` {made['throughput_ratio']:.2f}."
            if "throughput_ratio" in made
            else ""
        )
    )


def storage_text(results: dict[str, Any]) -> str:
    storage = results["storage"]
    when = storage.get("measured_at", results["measured_at"])
    return (
        f"Storage ({when}): the throughput upload with two workers on a fresh stack storing in "
        f"files, then on one storing in a local SeaweedFS over S3, twice in turn, the best of each: "
        f"{storage['file_images_per_s']:.1f} images/s on files, {storage['s3_images_per_s']:.1f} on S3, "
        f"`storage.s3_ratio` {storage['s3_ratio']:.2f}."
    )


def fairness_text(results: dict[str, Any]) -> str:
    """The paragraph on sharing the pipeline (bench/fairness.py)."""
    if "fairness" not in results:  # results of a `make bench` from before the scheduler
        return "Sharing the pipeline: not measured in this run."
    fair = results["fairness"]
    when = fair.get("measured_at", results["measured_at"])
    return (
        f"Sharing the pipeline ({when}): small-image batches of {fair['batch_rows']:,} rows. Eight "
        f"one-image requests took {fair['idle_p50_ms']:.0f} ms (p50) on the idle stack and "
        f"{fair['busy_p50_ms']:.0f} ms beside a batch; a 1,000-row request {fair['thousand_alone_s']:.1f} s "
        f"alone and {fair['thousand_busy_s']:.1f} s beside it. Two keys' batches uploaded at once: "
        f"{fair['share_min']:.2f} for the smaller share at equal weights, {fair['weighted_share']:.2f} "
        f"for the key of weight 4 beside one of weight 1. A batch alone: "
        f"{fair['batch_scheduled_rows_per_s']:.0f} rows/s scheduled, "
        f"{fair['batch_unscheduled_rows_per_s']:.0f} with `IMGPIPE_SCHEDULED_ROWS=0`; the photo upload "
        f"{fair['photos_scheduled_images_per_s']:.0f} and {fair['photos_unscheduled_images_per_s']:.0f} "
        "images/s." + (_fairness_costs_text(fair) if "stages_idle_ms" in fair else "")
    )


def _fairness_costs_text(fair: dict[str, Any]) -> str:
    """Where a one-image request's time went (bench/probe_stages.py), idle and beside the batch,
    and the CPU each process spent per 1,000 batch rows with the scheduling and without."""

    def stage(key: str) -> str:
        return f"{fair['stages_idle_ms'][key]:.0f} / {fair['stages_busy_ms'][key]:.0f}"

    scheduled, unscheduled = fair["cpu_s_per_1000_rows_scheduled"], fair["cpu_s_per_1000_rows_unscheduled"]
    cpu = ", ".join(
        f"{process} {scheduled[process]:.2f} / {unscheduled[process]:.2f}" for process in scheduled
    )
    return (
        " Where the one-image requests' time went, medians in ms, idle / beside the batch: upload → "
        f"row on imgpipe.rows {stage('upload_to_row_ms')}, → result on imgpipe.results "
        f"{stage('row_to_result_ms')} (the processor's own work {stage('processing_ms')}), → the "
        f"final state's completed_at {stage('result_to_completed_ms')}, → seen by the client "
        f"{stage('completed_to_seen_ms')}. CPU seconds per 1,000 batch rows, scheduled / first come "
        f"first served: {cpu}; all {sum(scheduled.values()):.2f} / {sum(unscheduled.values()):.2f}."
    )


def retention_text(results: dict[str, Any]) -> str:
    """The paragraph on deleting expired requests (bench/retention.py)."""
    if "retention" not in results:  # results of a `make bench` from before retention
        return "Retention: not measured in this run."
    kept = results["retention"]
    when = kept.get("measured_at", results["measured_at"])
    return (
        f"Retention ({when}): {kept['rows_deleted']:,} rows of finished requests past their retention "
        f"deleted with everything of theirs (documents by `_id`, CSVs by prefix) at "
        f"{kept['delete_rows_per_s_alone']:,.0f} rows/s on the bench database, then at "
        f"{kept['delete_rows_per_s']:,.0f} rows/s once {kept['stored_rows']:,} more rows were stored"
        + (
            f" (they took {kept['database_bytes_per_row']:,.0f} bytes of database on disk a row)."
            if "database_bytes_per_row" in kept
            else "."
        )
        + (_soak_text(kept) if "growth" in kept else " The soak (`make bench-soak`) did not run since.")
    )


def _soak_text(kept: dict[str, Any]) -> str:
    first, last = kept["soak_samples"][0], kept["soak_samples"][-1]
    growth = kept["growth_by_size"]
    load = (
        f"requests kept {kept['soak_retention_s']:.0f} s, a {kept['soak_rows_per_upload']}-row upload every "
        f"{kept['soak_upload_every_s']:.0f} s (half its rows the same catalogue each time, half new images) "
        f"for {kept['soak_s'] / 60:.0f} minutes"
    )
    sizes = (
        f"database {growth['database_bytes']:.2f} ({last['database_bytes'] / 1e6:.1f} MB), "
        f"stored bytes {growth['stored_bytes']:.2f} ({last['stored_bytes'] / 1e6:.1f} MB), "
        f"objects {growth['stored_objects']:.2f} ({last['stored_objects']:,})"
    )
    latency = (
        f"{kept['soak_latency_first_third_p50_ms']:.0f} ms in the first third, "
        f"{kept['soak_latency_last_third_p50_ms']:.0f} ms in the last"
    )
    return (
        f" The soak: {load}; at the end / after the first third: {sizes}; the database held "
        f"{first['database_bytes'] / 1e6:.1f} MB at the start. {kept['soak_requests_exact']:,} requests "
        f"exact, {len(kept['soak_requests_inexact'])} not; one-image p50 {latency}."
    )


def work_saved_text(results: dict[str, Any]) -> str:
    """The paragraph on the source cache and de-duplication."""
    if "cache" not in results:  # results of a `make bench` from before, updated by bench.storage
        return "Work saved: not measured in this run."
    cache, dedup = results["cache"], results["dedup"]
    return (
        f"Work saved: the throughput CSV ({cache['images']:,} images) uploaded twice took "
        f"{cache['first_run_s']:.1f} s, then {cache['second_run_s']:.1f} s "
        f"({cache['second_run_speedup']:.1f} times faster): the second run sent "
        f"{cache['second_run_conditional_requests']:,} conditional GETs of its "
        f"{cache['second_run_source_requests']:,} source requests and compressed "
        f"{cache['second_run_compressions']:.0f} images (the first {cache['first_run_compressions']:.0f}). "
        f"{dedup['distinct_urls']:,} URLs, each in {dedup['copies']} rows spread over one request "
        f"with two workers, cost {dedup['source_requests']:,} source requests "
        f"({dedup['fetch_ratio']:.2f} per URL; {dedup['copies']} without de-duplication)."
    )


def benchmarks_markdown(results: dict[str, Any], command: str, million_row_runs: str = "") -> str:
    """BENCHMARKS.md from `results`, ending with the million-row runs recorded so far."""
    host = results["machine"]
    sizes = results["sizes"]
    scale_out = results["scale_out"]
    batch = results["batch"]
    ceiling = (
        f"What the cores give: raw Pillow in a process per core is {scale_out['raw_ratio']:.2f} "
        f"times raw Pillow in one process on this machine, and a second worker adds "
        f"{scale_out['ratio']:.2f} times. The rest of the pipeline (Kafka, FerretDB, the gateway, "
        "the aggregator, the image server) runs on the same cores: beside one worker it has most "
        "of the other core, beside two it takes its share from them."
    )
    batch_split = (
        f"Small-image batch: the processors had published every result after "
        f"{batch['results_seconds']:,.0f} s ({batch['results_rows_per_s']:,.0f} rows/s), the request "
        f"was `completed` after {batch['seconds']:,.0f} s; the difference is the aggregator and the "
        f"database catching up. Load average (1 min) before the batch: {batch['load_average_1m']:.2f}."
    )
    text = f"""# Benchmarks

Latest run: {results["measured_at"]}, with `{command}` (results in
`bench/results.json`, chart in `bench/throughput.png`).

Machine: {host["cpu"]}, {host["cores"]} cores, {host["memory_gib"]} GiB, Python {host["python"]},
{host["os"]}.
Everything ran on it at once: Kafka, FerretDB, the gateway, the workers, the image server and
the benchmark driver.

{table(results)}

![throughput](bench/throughput.png)

Sizes: {sizes["images"]} photo-like 1024x768 JPEGs ({sizes["images_per_row"]} per CSV row),
{sizes["ingestion_rows"]:,} ingestion rows, {sizes["latency_requests"]} latency requests,
{sizes["batch_rows"]:,} small-image batch rows (64x48 JPEGs, one distinct URL per row).

{ceiling}

{batch_split}

{storage_text(results)}

{fidelity_text(results)}

{variants_text(results)}

{work_saved_text(results)}

{fairness_text(results)}

{retention_text(results)}

How each figure is measured: [docs/development.md](docs/development.md#benchmarks); what they
mean for sizing, and what limits them: [docs/SCALING.md](docs/SCALING.md).
"""
    return f"{text}\n{million_row_runs}" if million_row_runs else text
