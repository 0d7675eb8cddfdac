"""What colour management costs a processor per image: `python -m bench.colour_cost`.

The same photo-like 1024x768 pixels are saved as a quality-90 JPEG three ways: with no ICC
profile, with an sRGB profile, and with an Adobe RGB (1998) profile, whose pixels really are
converted. Each is recompressed as a processor does it (processors.compress.compress_jpeg), and
the best of several passes is kept. The sRGB and no-profile cases are most images; they should
cost the same (the conversion is skipped), and the ratio of their times says whether they do.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence

from PIL import Image, ImageCms

from processors.compress import compress_jpeg
from tests.support.icc_profiles import ADOBE_RGB, rgb_profile
from tests.support.photos import photo_like_image

QUALITY = 50
PASSES = 5


def _with_profile(photo: bytes, icc_profile: bytes | None) -> bytes:
    output = io.BytesIO()
    Image.open(io.BytesIO(photo)).save(output, format="JPEG", quality=90, icc_profile=icc_profile)
    return output.getvalue()


def _best_ms_per_image(images: Sequence[bytes]) -> float:
    best = float("inf")
    for _ in range(PASSES):
        started = time.perf_counter()
        for data in images:
            compress_jpeg(data, QUALITY, max_pixels=50_000_000, progressive=False)
        best = min(best, (time.perf_counter() - started) * 1000 / len(images))
    return best


def colour_cost(count: int) -> dict[str, float]:
    """Milliseconds per image for each case, and the profiles' times over the no-profile time."""
    photos = [photo_like_image(1024, 768, seed=9000 + seed) for seed in range(count)]
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cases = {
        "no_profile": [_with_profile(photo, None) for photo in photos],
        "srgb_profile": [_with_profile(photo, srgb) for photo in photos],
        "adobe_rgb_profile": [_with_profile(photo, rgb_profile(ADOBE_RGB)) for photo in photos],
    }
    for images in cases.values():  # builds and caches each profile's transform before timing
        compress_jpeg(images[0], QUALITY, max_pixels=50_000_000, progressive=False)
    ms = {name: _best_ms_per_image(images) for name, images in cases.items()}
    return {
        **{f"{name}_ms": value for name, value in ms.items()},
        "srgb_ratio": ms["srgb_profile"] / ms["no_profile"],
        "adobe_rgb_ratio": ms["adobe_rgb_profile"] / ms["no_profile"],
    }


if __name__ == "__main__":
    for key, value in colour_cost(20).items():
        print(f"{key}: {value:.3f}")
