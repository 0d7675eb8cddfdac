"""Each output format's encoder, with imgpipe's options: sRGB pixels in, a file with no metadata out.

The options are part of what determines an output's bytes, so the content names hash the
efforts below (processors/content_address.py): changing one makes new names, never a stale reuse.
"""

from __future__ import annotations

import io

from PIL import Image

from imgpipe.contract.presets import OutputFormat

# libwebp's effort, 0 (fastest) to 6; chosen by `make bench-variants` (docs/images.md).
WEBP_METHOD = 4
# libavif's speed, 0 (slowest, smallest) to 10; chosen by `make bench-variants` (docs/images.md).
AVIF_SPEED = 8


def encode_jpeg(rgb: Image.Image, quality: int, progressive: bool) -> bytes:
    """The JPEG every output is: optimized Huffman tables (smaller, same pixels) and 4:2:0."""
    output = io.BytesIO()
    rgb.save(
        output, format="JPEG", quality=quality, optimize=True, subsampling="4:2:0", progressive=progressive
    )
    return output.getvalue()


def encode(rgb: Image.Image, output_format: OutputFormat, quality: int, effort: int | None = None) -> bytes:
    """`rgb` in `output_format`. A JPEG is baseline, as the main output is by default; `effort` is
    WebP's method or AVIF's speed, imgpipe's unless given (the benchmark tries others)."""
    if output_format is OutputFormat.JPEG:
        return encode_jpeg(rgb, quality, progressive=False)
    output = io.BytesIO()
    if output_format is OutputFormat.WEBP:
        rgb.save(output, format="WEBP", quality=quality, method=WEBP_METHOD if effort is None else effort)
    else:
        rgb.save(output, format="AVIF", quality=quality, speed=AVIF_SPEED if effort is None else effort)
    return output.getvalue()


def encoder_effort(output_format: OutputFormat) -> int | None:
    """The effort setting that changes `output_format`'s bytes (None: JPEG has none)."""
    return {OutputFormat.WEBP: WEBP_METHOD, OutputFormat.AVIF: AVIF_SPEED}.get(output_format)
