"""Colour management: pixels with an embedded ICC profile come out as the same colours in sRGB.

Each case compares imgpipe's decoded pixels (before JPEG encoding) with a reference conversion:
the textbook matrix math for the RGB spaces, LittleCMS on the original (pre-JPEG) pixels for
CMYK. Each also checks that ignoring the profile would have failed the same comparison.
"""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from processors.colour import FLAGS, INTENT
from processors.compress import compress_jpeg, decode_srgb
from tests.support.icc_profiles import (
    ADOBE_RGB,
    DISPLAY_P3,
    PROPHOTO,
    SRGB,
    RgbSpace,
    cmyk_profile,
    gray_profile,
    rgb_profile,
    rgb_to_xyz,
    srgb_encode,
    srgb_reference,
)

MAX_PIXELS = 1_000_000
MAX_MEAN_DIFFERENCE = 2.0  # levels, averaged over every channel of every pixel


def _varied_colours(mode: str, size: tuple[int, int] = (64, 64), seed: int = 7) -> Image.Image:
    """Random colours over the whole range of every channel, so every hue and level is tried."""
    rng = random.Random(seed)
    bands = len(mode)
    image = Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * bands))
    return image


def _encode(image: Image.Image, format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def _pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    return [image.getpixel((x, y)) for y in range(image.height) for x in range(image.width)]  # type: ignore[misc]


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_the_colour_math_gives_the_published_srgb_matrix() -> None:
    # IEC 61966-2-1's linear sRGB → XYZ matrix, to the 4 decimals it is usually quoted with: the
    # references below come from this derivation.
    published = ((0.4124, 0.3576, 0.1805), (0.2126, 0.7152, 0.0722), (0.0193, 0.1192, 0.9505))
    derived = rgb_to_xyz(SRGB.primaries, SRGB.white)
    for derived_row, published_row in zip(derived, published, strict=True):
        assert derived_row == pytest.approx(published_row, abs=1e-4)


@pytest.mark.parametrize("space", [ADOBE_RGB, PROPHOTO, DISPLAY_P3], ids=lambda space: space.name)
def test_rgb_profile_is_converted_to_srgb(space: RgbSpace) -> None:
    original = _varied_colours("RGB")
    source = _encode(original, "PNG", icc_profile=rgb_profile(space))
    reference = Image.new("RGB", original.size)
    reference.putdata(srgb_reference(space, _pixels(original)))

    decoded = decode_srgb(source, MAX_PIXELS)

    assert decoded.mode == "RGB"
    assert _mean_difference(decoded, reference) <= MAX_MEAN_DIFFERENCE
    assert _mean_difference(original, reference) > 3 * MAX_MEAN_DIFFERENCE  # the profile mattered


def test_cmyk_jpeg_with_a_profile_is_converted_to_srgb() -> None:
    original = _varied_colours("CMYK", size=(48, 48)).resize((96, 96))  # smooth enough for JPEG
    profile = cmyk_profile()
    source = _encode(original, "JPEG", quality=95, icc_profile=profile)
    # Adobe's convention, as Photoshop writes it: an APP14 "Adobe" marker and inverted values.
    assert b"Adobe" in source
    transform = ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(io.BytesIO(profile)),
        ImageCms.createProfile("sRGB"),
        "CMYK",
        "RGB",
        INTENT,
        FLAGS,
    )
    reference = transform.apply(original)

    decoded = decode_srgb(source, MAX_PIXELS)

    assert _mean_difference(decoded, reference) <= MAX_MEAN_DIFFERENCE
    assert _mean_difference(original.convert("RGB"), reference) > 3 * MAX_MEAN_DIFFERENCE


def test_grayscale_profile_is_converted_to_srgb() -> None:
    gamma = 1.8  # "Gray Gamma 1.8": far enough from sRGB for the profile to matter
    original = _varied_colours("L")
    source = _encode(original, "PNG", icc_profile=gray_profile(gamma))
    # Gray of relative luminance Y is sRGB (v, v, v) with v the sRGB encoding of Y.
    levels = [round(srgb_encode((value / 255) ** gamma) * 255) for value in range(256)]
    reference = original.point(levels).convert("RGB")

    decoded = decode_srgb(source, MAX_PIXELS)

    assert _mean_difference(decoded, reference) <= MAX_MEAN_DIFFERENCE
    assert _mean_difference(original.convert("RGB"), reference) > 3 * MAX_MEAN_DIFFERENCE


def test_no_profile_is_taken_as_srgb() -> None:
    original = _varied_colours("RGB")

    decoded = decode_srgb(_encode(original, "PNG"), MAX_PIXELS)

    assert decoded.tobytes() == original.tobytes()


def test_an_srgb_profile_changes_nothing() -> None:
    # The same pixels, byte for byte, with and without: the sRGB case skips the conversion.
    original = _varied_colours("RGB")
    with_profile = _encode(
        original, "PNG", icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    )

    assert decode_srgb(with_profile, MAX_PIXELS).tobytes() == original.tobytes()


@pytest.mark.parametrize("format", ["PNG", "JPEG"])
@pytest.mark.parametrize(
    "profile",
    [b"not an ICC profile at all" * 8, rgb_profile(ADOBE_RGB)[:200], cmyk_profile()],
    ids=["garbage", "truncated", "cmyk-profile-on-rgb-pixels"],
)
def test_an_unusable_profile_is_ignored_like_a_browser_does(format: str, profile: bytes) -> None:
    original = _varied_colours("RGB")
    without_profile = _encode(original, format)
    source = _encode(original, format, icc_profile=profile)

    decoded = decode_srgb(source, MAX_PIXELS)
    compressed = compress_jpeg(source, quality=90, max_pixels=MAX_PIXELS, progressive=False)

    # Exactly what the same file without a profile gives: its pixels taken as sRGB.
    assert decoded.tobytes() == decode_srgb(without_profile, MAX_PIXELS).tobytes()
    assert compressed.data == compress_jpeg(without_profile, 90, MAX_PIXELS, progressive=False).data


def test_output_carries_no_profile() -> None:
    source = _encode(_varied_colours("RGB"), "PNG", icc_profile=rgb_profile(ADOBE_RGB))

    compressed = compress_jpeg(source, quality=90, max_pixels=MAX_PIXELS, progressive=False)

    assert "icc_profile" not in Image.open(io.BytesIO(compressed.data)).info
