"""Convert decoded pixels to sRGB through their embedded ICC profile, with LittleCMS (Pillow's ImageCms).

Rendering intent: relative colorimetric with black point compensation, the default of Photoshop's
"Convert to Profile" and what libvips recommends for exchanging images. In-gamut colours keep
their measured values, out-of-gamut ones are clipped to the nearest sRGB colour; compensation
maps a CMYK profile's black (paper and ink are never truly black) to sRGB black. For the
matrix/TRC RGB profiles of cameras and phones (Adobe RGB, Display P3, ProPhoto) perceptual
intent would give the same result: they carry no perceptual tables.

An image without a profile is taken as sRGB. A profile that LittleCMS cannot read, or whose
colour space does not match the pixels, is ignored as every browser ignores it: the pixels are
taken as sRGB (CMYK ones through Pillow's plain conversion), and a warning is logged once per
profile.

Cost: the transform for a profile is built once and kept (keyed by the profile's bytes). A
profile whose transform changes no colour by more than `_SAME_AS_SRGB_LEVELS` (an sRGB profile,
as most photos embed) is recorded as "already sRGB", and its images skip the conversion
entirely; so does an image without a profile. `python -m bench.colour_cost` measures it.
"""

from __future__ import annotations

import functools
import io
import logging
from typing import cast

from PIL import Image, ImageChops, ImageCms

logger = logging.getLogger(__name__)

INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
FLAGS = ImageCms.Flags.BLACKPOINTCOMPENSATION

# ICC colour space signatures (as Pillow reports them) for the pixel modes converted.
_PROFILE_SPACE_OF_MODE = {"RGB": "RGB ", "CMYK": "CMYK", "L": "GRAY"}
# Distinct profiles remembered: real catalogs carry a handful (sRGB variants, Adobe RGB, P3,
# a press CMYK or two); a CMYK profile can be 0.5-2 MB, so the cache stays small.
_CACHED_PROFILES = 32
# Below what anyone sees and far below the error of a quality-50 JPEG.
_SAME_AS_SRGB_LEVELS = 2


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def _rgb_probe() -> Image.Image:
    """Every combination of 17 levels per channel (0, 16, …, 255): 4,913 colours."""
    levels = [min(255, step * 16) for step in range(17)]
    probe = Image.new("RGB", (len(levels) ** 3, 1))
    probe.putdata([(r, g, b) for r in levels for g in levels for b in levels])
    return probe


def _changes_colours(transform: ImageCms.ImageCmsTransform) -> bool:
    probe = _rgb_probe()
    per_channel = ImageChops.difference(transform.apply(probe), probe).getextrema()
    return any(high > _SAME_AS_SRGB_LEVELS for _, high in cast(tuple[tuple[int, int], ...], per_channel))


@functools.lru_cache(maxsize=_CACHED_PROFILES)
def _transform_to_srgb(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from `icc_profile` to sRGB for pixels of `mode`; None when the pixels are to
    be taken as sRGB as they are (the profile is sRGB, unreadable or of another colour space)."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        space = profile.profile.xcolor_space
        if space != _PROFILE_SPACE_OF_MODE[mode]:
            logger.warning("ignoring an ICC profile for %r colours on %s pixels", space.strip(), mode)
            return None
        transform = ImageCms.buildTransform(profile, _srgb_profile(), mode, "RGB", INTENT, FLAGS)
    except (OSError, ImageCms.PyCMSError) as error:
        logger.warning("ignoring an ICC profile LittleCMS cannot use: %s", error)
        return None
    if mode == "RGB" and not _changes_colours(transform):
        return None
    return transform


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """`image` (opaque) as sRGB pixels, mode RGB."""
    if icc_profile and image.mode in _PROFILE_SPACE_OF_MODE:
        transform = _transform_to_srgb(icc_profile, image.mode)
        if transform is not None:
            return transform.apply(image)
    return image if image.mode == "RGB" else image.convert("RGB")
