"""A source's preset variants, made from the pixels its JPEG is made from (decoded once).

Each variant is the decoded, colour-managed, oriented sRGB pixels fitted inside its preset's box
(`Preset.fitted_size`, so a stored variant's size is known without reading it) and encoded in its
preset's format (processors/encoders.py) with no metadata.

Downscaling is two steps, as Pillow's `reducing_gap` does it: a box reduction by an integer
factor, then Lanczos (a=3) for the last factor of at least `REDUCING_GAP`. Resizing is done on the
sRGB-encoded values, not in linear light; docs/images.md#variants gives both choices' figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, features

from imgpipe.contract.presets import OutputFormat, Preset
from processors.encoders import encode

# The last, Lanczos step reduces by at least this factor: 1.25 lets a 1024 px photo be halved
# before its 400 px thumbnail (the Lanczos step alone took 2.2 times as long, for a mean
# difference of 0.5 levels in 255); larger gaps barely change the pixels and cost more.
REDUCING_GAP = 1.25
# A variant is resized from a larger variant's pixels, instead of the source's, when those are at
# least this many times its size on both sides: a 400 px thumbnail from a 1600 px variant of a
# 3000 px photo differed from a direct Lanczos by 0.46 levels in 255 on average, the direct
# two-step one by 0.48, and took 0.64 of its time. Closer sizes would filter the pixels twice.
DERIVE_FROM_FACTOR = 2

# Pillow's name for each format's encoder (`PIL.features.check`); JPEG is always there.
_ENCODER_FEATURES = {OutputFormat.WEBP: "webp", OutputFormat.AVIF: "avif"}


@dataclass(frozen=True)
class EncodedVariant:
    preset: Preset
    data: bytes
    width: int
    height: int


class EncoderMissing(RuntimeError):
    """A configured preset's format cannot be written by this installation's Pillow."""


def require_encoders(presets: Iterable[Preset]) -> None:
    """Raise `EncoderMissing`, naming the first preset concerned, when Pillow cannot write its format."""
    for preset in presets:
        feature = _ENCODER_FEATURES.get(preset.format)
        if feature is not None and not features.check(feature):
            raise EncoderMissing(
                f"preset {preset.name!r} needs the {preset.format.value.upper()} encoder, which this "
                f"installation's Pillow lacks"
            )


def resized(rgb: Image.Image, sizes: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Image.Image]:
    """`rgb` at each of `sizes` (none larger than `rgb`), largest first, each from the smallest
    pixels already made that are large enough to derive it from."""
    made = {rgb.size: rgb}
    for size in sorted(set(sizes), key=lambda wh: wh[0] * wh[1], reverse=True):
        if size in made:
            continue
        large_enough = [
            image
            for image in made.values()
            if image.width >= DERIVE_FROM_FACTOR * size[0] and image.height >= DERIVE_FROM_FACTOR * size[1]
        ]
        start = min(large_enough, key=lambda image: image.width * image.height, default=rgb)
        made[size] = start.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    return made


def encode_variants(rgb: Image.Image, presets: Sequence[Preset]) -> list[EncodedVariant]:
    """Each preset's variant of `rgb` (opaque sRGB pixels, mode RGB, no metadata), in `presets`' order;
    presets of the same fitted size share one resize."""
    sizes = [preset.fitted_size(rgb.width, rgb.height) for preset in presets]
    pixels = resized(rgb, sizes)
    return [
        EncodedVariant(preset, encode(pixels[size], preset.format, preset.quality), *size)
        for preset, size in zip(presets, sizes, strict=True)
    ]
