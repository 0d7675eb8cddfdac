"""Recompress one image as an sRGB JPEG with the same pixel dimensions and no metadata, and make its
preset variants from the same decode.

Decoding reads the formats of `INPUT_FORMATS` only; anything else is `not_an_image`. Pixels are
converted to sRGB through the image's embedded ICC profile (processors/colour.py) before the
profile is dropped, so wide-gamut and CMYK photos keep their colours. The JPEG is written with
optimized Huffman tables and 4:2:0 chroma subsampling, baseline or progressive. The variants are
made from the same pixels (processors/variants.py): one decode per source, whatever the number of
presets.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from imgpipe.contract.errors import CodedError
from imgpipe.contract.messages import ErrorCode
from imgpipe.contract.presets import Preset
from processors.colour import to_srgb
from processors.encoders import encode_jpeg
from processors.variants import EncodedVariant, encode_variants

# Pillow reads AVIF itself (since 11.2); HEIC/HEIF comes from pillow-heif's opener. Registering
# it only adds a format to Pillow's table.
pillow_heif.register_heif_opener()

# Pillow's format ids. A JPEG with several pictures (MPO, as some cameras write) opens as JPEG.
INPUT_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF")
_FORMAT_NAMES = "JPEG, PNG, WebP, GIF, TIFF, BMP, HEIC/HEIF, AVIF"


@dataclass(frozen=True)
class CompressedImage:
    """The JPEG (None when it was not asked for) and the variants of a source of `width`x`height`."""

    data: bytes | None
    width: int
    height: int
    variants: tuple[EncodedVariant, ...] = ()


class ImageRejected(CodedError[ErrorCode]):
    """The bytes are not an image imgpipe reads, or decoding them failed."""


def _opaque(image: Image.Image) -> Image.Image:
    """Pixels without alpha, in the image's own colour space: transparency is flattened onto
    white before colour conversion (white is white in every RGB space and on paper)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grayscale: scale to 8 bits instead of clipping everything above 255 to white.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La"):
        opaque_mode = "L"
    elif image.mode in ("RGBA", "PA", "RGBa"):
        opaque_mode = "RGB"
    else:
        return image
    with_alpha = image.convert(f"{opaque_mode}A")
    background = Image.new(opaque_mode, with_alpha.size, "white")
    background.paste(with_alpha.convert(opaque_mode), mask=with_alpha.getchannel("A"))
    return background


def _undecodable_message(data: bytes) -> str:
    # ISO base media files (HEIC, AVIF) start with an `ftyp` box; a cut-short one is not
    # recognised at all, which would otherwise read as "not an image".
    if data[4:8] == b"ftyp":
        return "the HEIF/AVIF file cannot be read: it is truncated or corrupt"
    return f"the content is not an image in a supported format ({_FORMAT_NAMES})"


def decode_srgb(data: bytes, max_pixels: int) -> Image.Image:
    """Decode `data` (format decided by its bytes), apply EXIF orientation, return opaque sRGB
    pixels (mode RGB) with no metadata."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=INPUT_FORMATS)
            width, height = image.size
            # Checked from the header, before any pixel is decoded: a bomb never gets inflated.
            if width * height > max_pixels:
                raise ImageRejected(
                    ErrorCode.IMAGE_TOO_LARGE,
                    f"{width}x{height} is more than {max_pixels} pixels",
                )
            image.seek(0)  # multi-frame images (GIF, APNG, TIFF) use their first frame
            # In place: without an orientation tag, the default would copy every pixel for nothing
            # (14% of a worker's time in the throughput profile).
            ImageOps.exif_transpose(image, in_place=True)
            rgb = to_srgb(_opaque(image), image.info.get("icc_profile"))
    except UnidentifiedImageError:
        raise ImageRejected(ErrorCode.NOT_AN_IMAGE, _undecodable_message(data)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(ErrorCode.IMAGE_TOO_LARGE, "the image has too many pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageRejected(ErrorCode.NOT_AN_IMAGE, f"the image cannot be decoded: {error}") from None
    rgb.info.clear()  # Pillow would copy a comment or a profile from the input; outputs carry none
    return rgb


def compress_image(
    data: bytes,
    quality: int,
    max_pixels: int,
    progressive: bool,
    presets: Sequence[Preset],
    with_main: bool,
) -> CompressedImage:
    """Decode `data` once; encode the JPEG (unless `with_main` is false: the caller has it stored)
    and each preset's variant."""
    rgb = decode_srgb(data, max_pixels)
    return CompressedImage(
        data=encode_jpeg(rgb, quality, progressive) if with_main else None,
        width=rgb.width,
        height=rgb.height,
        variants=tuple(encode_variants(rgb, presets)),
    )


def compress_jpeg(data: bytes, quality: int, max_pixels: int, progressive: bool) -> CompressedImage:
    """The JPEG alone (its `data` is never None)."""
    return compress_image(data, quality, max_pixels, progressive, presets=(), with_main=True)
