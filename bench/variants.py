"""`variants.*`: what WebP and AVIF variants save over JPEG, and what a variant costs beside the JPEG.

On the bench photos (1024x768), decoded as a processor decodes them (processors.compress.decode_srgb)
and resized as processors/variants.py does:

- `webp_bytes_ratio`, `avif_bytes_ratio`: the default thumbnail's box (400 px) in WebP and the large
  preset's (1600 px, so the photos keep their size) in AVIF, against JPEG at the same pixel size.
  JPEG at `REFERENCE_JPEG_QUALITY` gives a mean SSIM to the resized pixels; each format's quality
  is searched for the lowest one whose mean SSIM is at least the JPEG's, and the bytes of all the
  photos compared at those qualities (one quality for every photo, as a preset has). The same is
  done at each of the formats' efforts (`effort_scan`), which is what WEBP_METHOD and AVIF_SPEED
  rest on.
- `thumb_cost`: the time to add a 400 px JPEG variant to the shared decode over the time of the
  seed's output alone (decode and encode at the default quality); `webp_thumb_cost` and
  `avif_large_cost` the same for the default presets. The best of a few passes, taken in turn.

- `throughput_ratio` (bench/variant_throughput.py): the pipeline's photos/s asking for both default
  presets over its photos/s asking for none, on a bench stack of 2 processors.

SSIM is Wang et al.'s (Gaussian window, sigma 1.5, K1 0.01, K2 0.03) on each of R, G and B, averaged.
`make bench-variants` runs it alone, under a lock shared with the stack benchmarks.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from bench.image_server import IMAGE_SERVER_PORT
from bench.image_set import CACHE, ensure_image_set
from bench.partial_run import measure_into_last_results
from bench.stack import running_bench_stack
from bench.throughput import IMAGES_PER_ROW
from bench.variant_throughput import presets_throughput
from imgpipe.config.settings import DEFAULT_PRESETS as DEFAULT_PRESET_TEXT
from imgpipe.config.settings import Settings
from imgpipe.contract.presets import OutputFormat, Preset, parse_presets
from processors.compress import compress_jpeg, decode_srgb
from processors.encoders import AVIF_SPEED, WEBP_METHOD, encode
from processors.variants import encode_variants, resized

VARIANT_IMAGES = 24
REFERENCE_JPEG_QUALITY = 75
# The default presets, whatever the environment says: the WebP thumbnail and the AVIF large image.
DEFAULT_PRESETS = {preset.format: preset for preset in parse_presets(DEFAULT_PRESET_TEXT)}
# The efforts tried: libwebp's methods and libavif's speeds (4 and below took seconds a photo).
EFFORTS = {OutputFormat.WEBP: (0, 2, 4, 5, 6), OutputFormat.AVIF: (6, 7, 8, 9, 10)}
DEFAULT_EFFORT = {OutputFormat.WEBP: WEBP_METHOD, OutputFormat.AVIF: AVIF_SPEED}
TIMING_PASSES = 5

_SIGMA, _RADIUS = 1.5, 5
_WINDOW = np.exp(-((np.arange(-_RADIUS, _RADIUS + 1) / _SIGMA) ** 2) / 2)
_WINDOW = (_WINDOW / _WINDOW.sum()).astype(np.float32)

Pixels = NDArray[np.float32]


def _blurred(channel: Pixels) -> Pixels:
    """The Gaussian-weighted local mean at every position where the window fits (valid region)."""
    rows = np.lib.stride_tricks.sliding_window_view(channel, _WINDOW.size, axis=1) @ _WINDOW
    columns: Pixels = np.lib.stride_tricks.sliding_window_view(rows, _WINDOW.size, axis=0) @ _WINDOW
    return columns


def ssim(reference: Image.Image, image: Image.Image) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x_all = np.asarray(reference.convert("RGB"), dtype=np.float32)
    y_all = np.asarray(image.convert("RGB"), dtype=np.float32)
    scores = []
    for band in range(3):
        x, y = x_all[..., band], y_all[..., band]
        mean_x, mean_y = _blurred(x), _blurred(y)
        var_x = _blurred(x * x) - mean_x**2
        var_y = _blurred(y * y) - mean_y**2
        covariance = _blurred(x * y) - mean_x * mean_y
        index = ((2 * mean_x * mean_y + c1) * (2 * covariance + c2)) / (
            (mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2)
        )
        scores.append(float(index.mean()))
    return sum(scores) / 3


def _fitted(pixels: Sequence[Image.Image], box: Preset) -> list[Image.Image]:
    """The pixels `box`'s variants are encoded from."""
    return [resized(image, [box.fitted_size(*image.size)])[box.fitted_size(*image.size)] for image in pixels]


def _bytes_and_ssim(
    pixels: Sequence[Image.Image], output_format: OutputFormat, quality: int, effort: int | None
) -> tuple[int, float]:
    """Total bytes of `pixels` in `output_format`, and their mean SSIM to `pixels`."""
    total, scores = 0, []
    for image in pixels:
        data = encode(image, output_format, quality, effort)
        total += len(data)
        scores.append(ssim(image, Image.open(io.BytesIO(data))))
    return total, sum(scores) / len(scores)


def _matching_quality(
    pixels: Sequence[Image.Image], output_format: OutputFormat, effort: int, target_ssim: float
) -> tuple[int, int, float]:
    """The lowest quality whose mean SSIM is at least `target_ssim` (SSIM grows with quality), its
    bytes and SSIM."""
    low, high = 1, 100
    found = (100, *_bytes_and_ssim(pixels, output_format, 100, effort))
    while low < high:
        middle = (low + high) // 2
        size, score = _bytes_and_ssim(pixels, output_format, middle, effort)
        if score >= target_ssim:
            high, found = middle, (middle, size, score)
        else:
            low = middle + 1
    return found


def _format_against_jpeg(
    pixels: Sequence[Image.Image], output_format: OutputFormat, scan_efforts: bool
) -> dict[str, Any]:
    """`output_format` at imgpipe's effort, and at every effort tried if `scan_efforts`, against
    JPEG at the reference quality, at equal SSIM."""
    jpeg_bytes, jpeg_ssim = _bytes_and_ssim(pixels, OutputFormat.JPEG, REFERENCE_JPEG_QUALITY, None)
    scan = {}
    for effort in EFFORTS[output_format] if scan_efforts else (DEFAULT_EFFORT[output_format],):
        started = time.perf_counter()
        quality, size, score = _matching_quality(pixels, output_format, effort, jpeg_ssim)
        searched_s = time.perf_counter() - started
        encode_ms = _encode_ms(pixels, output_format, quality, effort)
        scan[str(effort)] = {
            "quality": quality,
            "bytes": size,
            "ssim": score,
            "bytes_ratio": size / jpeg_bytes,
            "encode_ms": encode_ms,
        }
        print(
            f"  {output_format.value} effort {effort}: quality {quality}, {size / jpeg_bytes:.3f} of JPEG's "
            f"bytes, SSIM {score:.4f} against {jpeg_ssim:.4f}, {encode_ms:.1f} ms a photo "
            f"(searched in {searched_s:.0f} s)",
            flush=True,
        )
    chosen = scan[str(DEFAULT_EFFORT[output_format])]
    return {
        "size": f"{pixels[0].width}x{pixels[0].height}",
        "jpeg_quality": REFERENCE_JPEG_QUALITY,
        "jpeg_bytes": jpeg_bytes,
        "jpeg_ssim": jpeg_ssim,
        "effort": DEFAULT_EFFORT[output_format],
        "quality": chosen["quality"],
        "ssim": chosen["ssim"],
        "bytes_ratio": chosen["bytes_ratio"],
        "effort_scan": scan,
    }


def _encode_ms(
    pixels: Sequence[Image.Image], output_format: OutputFormat, quality: int, effort: int
) -> float:
    """The best pass's milliseconds per image."""
    best = math.inf
    for _ in range(TIMING_PASSES):
        started = time.perf_counter()
        for image in pixels:
            encode(image, output_format, quality, effort)
        best = min(best, (time.perf_counter() - started) * 1000 / len(pixels))
    return best


def _costs(sources: Sequence[bytes], pixels: Sequence[Image.Image], settings: Settings) -> dict[str, float]:
    """Milliseconds per photo: the seed's output alone, and each variant added to the shared decode."""
    quality, max_pixels = settings.jpeg_quality, settings.max_image_pixels
    thumb, large = DEFAULT_PRESETS[OutputFormat.WEBP], DEFAULT_PRESETS[OutputFormat.AVIF]
    jpeg_thumb = thumb.model_copy(update={"format": OutputFormat.JPEG, "quality": REFERENCE_JPEG_QUALITY})
    cases: dict[str, Callable[[], object]] = {
        "seed_ms": lambda: [compress_jpeg(data, quality, max_pixels, progressive=False) for data in sources],
        "thumb_ms": lambda: [encode_variants(image, [jpeg_thumb]) for image in pixels],
        "webp_thumb_ms": lambda: [encode_variants(image, [thumb]) for image in pixels],
        "avif_large_ms": lambda: [encode_variants(image, [large]) for image in pixels],
    }
    best = dict.fromkeys(cases, math.inf)
    for _ in range(TIMING_PASSES):  # in turn, so that the machine's drift hits every case alike
        for name, work in cases.items():
            started = time.perf_counter()
            work()
            best[name] = min(best[name], (time.perf_counter() - started) * 1000 / len(sources))
    return best


def measure_variants(
    image_paths: Sequence[Path], settings: Settings, scan_efforts: bool = True
) -> dict[str, Any]:
    sources = [path.read_bytes() for path in image_paths]
    pixels = [decode_srgb(data, settings.max_image_pixels) for data in sources]
    thumb, large = DEFAULT_PRESETS[OutputFormat.WEBP], DEFAULT_PRESETS[OutputFormat.AVIF]
    print(f"variants: {len(pixels)} photos, WebP at {thumb.width} px, AVIF at {large.width} px …", flush=True)
    webp = _format_against_jpeg(_fitted(pixels, thumb), OutputFormat.WEBP, scan_efforts)
    avif = _format_against_jpeg(_fitted(pixels, large), OutputFormat.AVIF, scan_efforts)
    costs = _costs(sources, pixels, settings)
    seed = costs["seed_ms"]
    print(
        f"  seed {seed:.2f} ms, 400 px JPEG {costs['thumb_ms']:.2f} ms ({costs['thumb_ms'] / seed:.2f}), "
        f"thumb {costs['webp_thumb_ms']:.2f} ms, large {costs['avif_large_ms']:.2f} ms",
        flush=True,
    )
    return {
        "images": len(pixels),
        "presets": DEFAULT_PRESET_TEXT,
        "webp": webp,
        "avif": avif,
        "webp_bytes_ratio": webp["bytes_ratio"],
        "avif_bytes_ratio": avif["bytes_ratio"],
        **costs,
        "thumb_cost": costs["thumb_ms"] / seed,
        "webp_thumb_cost": costs["webp_thumb_ms"] / seed,
        "avif_large_cost": costs["avif_large_ms"] / seed,
    }


def main() -> None:
    """Measure the variants alone and put them into the last `make bench`'s results."""

    def measure_alone(results: dict[str, Any], image_dir: Path) -> dict[str, Any]:
        paths = ensure_image_set(CACHE / "images", VARIANT_IMAGES)
        figures = measure_variants(paths, Settings())
        images = sorted(image_dir.glob("*.jpg"))[: results["sizes"]["images"]]
        urls = [f"http://127.0.0.1:{IMAGE_SERVER_PORT}/{path.name}" for path in images]
        with running_bench_stack(IMAGE_SERVER_PORT, processors=2) as stack:
            return figures | presets_throughput(stack, urls, IMAGES_PER_ROW)

    measure_into_last_results("variants", measure_alone)


if __name__ == "__main__":
    main()
