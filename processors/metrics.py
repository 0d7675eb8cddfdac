"""The processor's Prometheus metrics: images by outcome and origin, compressions, bytes, durations."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from imgpipe.contract.messages import ImageOutcome

IMAGES_PROCESSED = Counter(
    "imgpipe_images_processed_total", "Images processed, by outcome and error code", ["outcome", "error_code"]
)
IMAGES_BY_ORIGIN = Counter(
    "imgpipe_image_origins_total",
    "Images with an output, by origin: fetched, revalidated (the source said 304) or reused",
    ["origin"],
)
COMPRESSIONS = Counter(
    "imgpipe_compressions_total", "Images decoded and encoded (some of their outputs not found stored)"
)
VARIANTS_ENCODED = Counter(
    "imgpipe_variants_encoded_total", "Preset variants encoded (not found stored), by format", ["format"]
)
IMAGE_BYTES_IN = Counter("imgpipe_image_bytes_in_total", "Bytes of the fetched images")
IMAGE_BYTES_OUT = Counter("imgpipe_image_bytes_out_total", "Bytes of the compressed images")
FETCH_SECONDS = Histogram("imgpipe_fetch_duration_seconds", "Fetching one image, retries included")
COMPRESS_SECONDS = Histogram(
    "imgpipe_compress_duration_seconds",
    "Decoding, re-encoding and storing one image",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


def count_outcome(outcome: ImageOutcome) -> None:
    if outcome.error is None:
        IMAGES_PROCESSED.labels("ok", "").inc()
        if outcome.origin is not None:
            IMAGES_BY_ORIGIN.labels(outcome.origin.value).inc()
        IMAGE_BYTES_IN.inc(outcome.bytes_in or 0)
        IMAGE_BYTES_OUT.inc(outcome.bytes_out or 0)
    else:
        IMAGES_PROCESSED.labels("failed", outcome.error.code.value).inc()
