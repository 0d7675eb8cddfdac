"""processors.compress: an image of a supported format in, an sRGB JPEG of the same size out, and its
preset variants from the same decode."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image, JpegImagePlugin

from imgpipe.contract.messages import ErrorCode
from imgpipe.contract.presets import parse_presets
from processors import compress
from processors.compress import CompressedImage, ImageRejected, compress_image, compress_jpeg, decode_srgb
from processors.variants import encode_variants

QUALITY = 90  # high enough that flat colors survive within a few levels
MAX_PIXELS = 1_000_000

RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)

Color = tuple[int, int, int]


def _encode(image: Image.Image, format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def _decode(result: CompressedImage) -> Image.Image:
    image = Image.open(io.BytesIO(result.data))
    image.load()
    return image


def _pixel(image: Image.Image, xy: tuple[int, int]) -> Color:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    r, g, b = value[:3]
    return (int(r), int(g), int(b))


def _assert_close(actual: Color, expected: Color, tolerance: int = 8) -> None:
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (
        f"{actual} is not within {tolerance} of {expected}"
    )


def _halves(mode: str, size: tuple[int, int], left: object, right: object) -> Image.Image:
    """An image whose left half is `left` and right half `right`."""
    image = Image.new(mode, size, left)  # type: ignore[arg-type]
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))  # type: ignore[arg-type]
    return image


def _photo_like(size: tuple[int, int] = (256, 256), seed: int = 1234) -> Image.Image:
    """A smooth colour gradient with mild deterministic noise, like a product photo."""
    rng = random.Random(seed)
    width, height = size
    pixels = bytearray()
    for y in range(height):
        for x in range(width):
            for base in (x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)):
                pixels.append(max(0, min(255, base + rng.randint(-6, 6))))
    return Image.frombytes("RGB", size, bytes(pixels))


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring width x height RGB whose IDAT holds one scanline's worth of data at most:
    enough for Pillow to identify the file, far too little to decode it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))


def test_output_is_an_rgb_jpeg_with_the_input_dimensions() -> None:
    source = _encode(Image.new("RGB", (123, 45), (30, 140, 200)), "PNG")

    result = compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    assert result.data.startswith(b"\xff\xd8")
    decoded = _decode(result)
    assert decoded.format == "JPEG"
    assert decoded.mode == "RGB"
    assert decoded.size == (123, 45)
    assert (result.width, result.height) == (123, 45)
    _assert_close(_pixel(decoded, (60, 20)), (30, 140, 200))


@pytest.mark.parametrize(("format", "params"), [("PNG", {}), ("JPEG", {"quality": 95, "subsampling": 0})])
def test_photo_like_image_gets_smaller(format: str, params: dict[str, object]) -> None:
    source = _encode(_photo_like(), format, **params)

    result = compress_jpeg(source, quality=50, max_pixels=MAX_PIXELS, progressive=False)

    assert len(result.data) < len(source)
    assert (result.width, result.height) == (256, 256)


def test_exif_orientation_is_applied() -> None:
    # Stored 40x20, left half red; orientation 6 means "rotate 90 degrees clockwise to display",
    # which puts the stored left edge at the top.
    image = _halves("RGB", (40, 20), RED, BLUE)
    exif = Image.Exif()
    exif[0x0112] = 6
    source = _encode(image, "JPEG", quality=95, exif=exif)

    result = compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    decoded = _decode(result)
    assert decoded.size == (20, 40)
    assert (result.width, result.height) == (20, 40)
    _assert_close(_pixel(decoded, (10, 6)), RED, tolerance=40)
    _assert_close(_pixel(decoded, (10, 33)), BLUE, tolerance=40)


def test_output_has_no_exif() -> None:
    exif = Image.Exif()
    exif[0x0112] = 1  # Orientation
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x013B] = "Jane Photographer"  # Artist
    source = _encode(Image.new("RGB", (16, 16), (90, 90, 90)), "JPEG", exif=exif)
    assert len(Image.open(io.BytesIO(source)).getexif()) == 3  # the input really has EXIF

    result = compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    assert len(Image.open(io.BytesIO(result.data)).getexif()) == 0
    assert b"Jane Photographer" not in result.data


def test_output_has_no_jpeg_comment() -> None:
    # The module promises "no metadata"; a COM marker is metadata too.
    source = _encode(Image.new("RGB", (16, 16), (90, 90, 90)), "JPEG", comment=b"owner: jane@example.com")

    result = compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    assert b"jane@example.com" not in result.data
    assert "comment" not in Image.open(io.BytesIO(result.data)).info


def test_transparent_rgba_area_becomes_white() -> None:
    image = _halves("RGBA", (64, 32), (*RED, 255), (*BLUE, 0))
    source = _encode(image, "PNG")

    decoded = _decode(compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False))

    assert decoded.mode == "RGB"
    _assert_close(_pixel(decoded, (8, 16)), RED)
    _assert_close(_pixel(decoded, (56, 16)), WHITE)


def test_palette_image_with_transparency() -> None:
    image = _halves("P", (64, 32), 1, 0)
    image.putpalette([0, 0, 0, *RED] + [0, 0, 0] * 254)  # index 0 black, index 1 red
    source = _encode(image, "PNG", transparency=0)  # the black index is transparent
    assert Image.open(io.BytesIO(source)).mode == "P"

    decoded = _decode(compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False))

    assert decoded.mode == "RGB"
    _assert_close(_pixel(decoded, (8, 16)), RED)
    _assert_close(_pixel(decoded, (56, 16)), WHITE)


def test_grayscale_with_alpha() -> None:
    image = _halves("LA", (64, 32), (60, 255), (0, 0))
    source = _encode(image, "PNG")
    assert Image.open(io.BytesIO(source)).mode == "LA"

    decoded = _decode(compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False))

    assert decoded.mode == "RGB"
    _assert_close(_pixel(decoded, (8, 16)), (60, 60, 60))
    _assert_close(_pixel(decoded, (56, 16)), WHITE)


def test_cmyk_jpeg() -> None:
    # Pure magenta+yellow ink, no cyan or black: red.
    source = _encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG", quality=95)
    assert Image.open(io.BytesIO(source)).mode == "CMYK"

    decoded = _decode(compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False))

    assert decoded.mode == "RGB"
    _assert_close(_pixel(decoded, (16, 16)), RED)


@pytest.mark.parametrize(("value", "expected"), [(65535, 255), (32768, 128), (8192, 32), (0, 0)])
def test_16_bit_grayscale_is_scaled_not_clipped(value: int, expected: int) -> None:
    source = _encode(Image.new("I;16", (16, 16), value), "PNG")
    assert Image.open(io.BytesIO(source)).mode == "I;16"

    decoded = _decode(compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False))

    assert decoded.mode == "RGB"
    _assert_close(_pixel(decoded, (8, 8)), (expected, expected, expected), tolerance=3)


def test_8_bit_grayscale() -> None:
    source = _encode(Image.new("L", (16, 16), 77), "PNG")

    decoded = _decode(compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False))

    assert decoded.mode == "RGB"
    _assert_close(_pixel(decoded, (8, 8)), (77, 77, 77), tolerance=3)


def test_multi_frame_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), color) for color in (RED, BLUE, (0, 255, 0))]
    source = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(source)), "n_frames", 1) == 3

    decoded = _decode(compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False))

    assert decoded.size == (32, 32)
    _assert_close(_pixel(decoded, (16, 16)), RED)


def test_more_pixels_than_the_limit_is_rejected() -> None:
    source = _encode(Image.new("RGB", (100, 100)), "PNG")

    with pytest.raises(ImageRejected) as caught:
        compress_jpeg(source, quality=QUALITY, max_pixels=9_999, progressive=False)

    assert caught.value.code is ErrorCode.IMAGE_TOO_LARGE


def test_exactly_the_pixel_limit_is_accepted() -> None:
    source = _encode(Image.new("RGB", (100, 100)), "PNG")

    result = compress_jpeg(source, quality=QUALITY, max_pixels=10_000, progressive=False)

    assert (result.width, result.height) == (100, 100)


def test_too_large_is_decided_from_the_header_without_pixel_data() -> None:
    # 5000x5000 declared, no pixel data: only the header can have decided this.
    with pytest.raises(ImageRejected) as caught:
        compress_jpeg(_png_header_only(5000, 5000), quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    assert caught.value.code is ErrorCode.IMAGE_TOO_LARGE


def test_decompression_bomb_header_is_rejected_as_too_large() -> None:
    # 10^10 pixels: beyond Pillow's own bomb limit, even with a generous max_pixels.
    with pytest.raises(ImageRejected) as caught:
        compress_jpeg(
            _png_header_only(100_000, 100_000), quality=QUALITY, max_pixels=10**11, progressive=False
        )

    assert caught.value.code is ErrorCode.IMAGE_TOO_LARGE


@pytest.mark.parametrize(
    "data",
    [
        random.Random(7).randbytes(4096),
        b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body></body></html>",
        b"",
    ],
    ids=["random-bytes", "html", "empty"],
)
def test_non_image_content_is_rejected(data: bytes) -> None:
    with pytest.raises(ImageRejected) as caught:
        compress_jpeg(data, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    assert caught.value.code is ErrorCode.NOT_AN_IMAGE


@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_truncated_jpeg_is_rejected_as_not_an_image(keep: float) -> None:
    # Observed with Pillow 13: a JPEG cut short fails to decode ("image file is truncated").
    source = _encode(_photo_like((128, 128)), "JPEG", quality=90)
    truncated = source[: int(len(source) * keep)]

    with pytest.raises(ImageRejected) as caught:
        compress_jpeg(truncated, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    assert caught.value.code is ErrorCode.NOT_AN_IMAGE


@pytest.mark.parametrize(
    ("format", "params"),
    [
        ("HEIF", {"quality": 95}),
        ("AVIF", {"quality": 95}),
        ("WEBP", {"lossless": True}),
        ("TIFF", {}),
        ("BMP", {}),
        ("PNG", {}),
    ],
)
def test_input_format_is_read(format: str, params: dict[str, object]) -> None:
    source = _encode(_halves("RGB", (64, 32), RED, BLUE), format, **params)
    assert Image.open(io.BytesIO(source)).format == format

    decoded = _decode(compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False))

    assert decoded.size == (64, 32)
    _assert_close(_pixel(decoded, (8, 16)), RED, tolerance=12)
    _assert_close(_pixel(decoded, (56, 16)), BLUE, tolerance=12)


@pytest.mark.parametrize(("format", "params"), [("ICO", {}), ("PPM", {}), ("TGA", {}), ("PCX", {})])
def test_a_format_outside_the_supported_list_is_not_an_image(format: str, params: dict[str, object]) -> None:
    # Pillow itself reads these; imgpipe does not promise to.
    source = _encode(Image.new("RGB", (32, 32), RED), format, **params)

    with pytest.raises(ImageRejected) as caught:
        compress_jpeg(source, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    assert caught.value.code is ErrorCode.NOT_AN_IMAGE
    assert "supported format" in caught.value.message


@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_truncated_heic_is_a_clear_error(keep: float) -> None:
    # Cut in the picture data, libheif reports the end of file; cut in the header, the file is no
    # longer recognised as HEIF at all.
    source = _encode(_photo_like((128, 128)), "HEIF", quality=90)
    truncated = source[: int(len(source) * keep)]

    with pytest.raises(ImageRejected) as caught:
        compress_jpeg(truncated, quality=QUALITY, max_pixels=MAX_PIXELS, progressive=False)

    assert caught.value.code is ErrorCode.NOT_AN_IMAGE
    assert "end of file" in caught.value.message or "truncated" in caught.value.message


def _plain_jpeg_bytes(image: Image.Image, quality: int) -> int:
    return len(_encode(image, "JPEG", quality=quality))


def test_optimized_output_is_smaller_than_plain_output_of_the_same_pixels() -> None:
    photo = _photo_like((512, 384))
    source = _encode(photo, "PNG")

    result = compress_jpeg(source, quality=50, max_pixels=MAX_PIXELS, progressive=False)

    assert len(result.data) < 0.95 * _plain_jpeg_bytes(photo, quality=50)


@pytest.mark.parametrize("progressive", [False, True])
def test_progressive_setting_and_420_subsampling(progressive: bool) -> None:
    source = _encode(_photo_like((64, 64)), "PNG")

    output = Image.open(io.BytesIO(compress_jpeg(source, 50, MAX_PIXELS, progressive=progressive).data))

    assert bool(output.info.get("progressive")) is progressive
    assert JpegImagePlugin.get_sampling(output) == 2  # 4:2:0


def test_compress_image_decodes_once_for_the_jpeg_and_every_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    source = _encode(_photo_like((640, 480)), "PNG")
    presets = parse_presets("thumb:100x100:webp:75,card:320x320:jpeg:70,large:1600x1600:avif:50")
    decodes: list[bytes] = []

    def counting_decode(data: bytes, max_pixels: int) -> Image.Image:
        decodes.append(data)
        return decode_srgb(data, max_pixels)

    monkeypatch.setattr(compress, "decode_srgb", counting_decode)
    result = compress_image(source, 50, MAX_PIXELS, False, presets, with_main=True)

    assert len(decodes) == 1
    # The JPEG is the one compress_jpeg makes, byte for byte: adding presets changes nothing in it.
    assert result.data == compress_jpeg(source, 50, MAX_PIXELS, progressive=False).data
    assert (result.width, result.height) == (640, 480)
    assert [(v.preset.name, v.width, v.height) for v in result.variants] == [
        ("thumb", 100, 75),
        ("card", 320, 240),
        ("large", 640, 480),  # never enlarged
    ]
    assert result.variants == tuple(encode_variants(decode_srgb(source, MAX_PIXELS), presets))


def test_compress_image_skips_a_jpeg_already_stored() -> None:
    source = _encode(_photo_like((64, 48)), "PNG")
    presets = parse_presets("thumb:32x32:webp:75")

    result = compress_image(source, 50, MAX_PIXELS, False, presets, with_main=False)

    assert result.data is None
    assert [(v.width, v.height) for v in result.variants] == [(32, 24)]


def test_the_jpeg_is_written_with_the_documented_options() -> None:
    """The seed's output, which content names promise: decoded pixels saved with optimized Huffman
    tables and 4:2:0, nothing else."""
    source = _encode(_photo_like((200, 150)), "PNG")
    expected = _encode(
        decode_srgb(source, MAX_PIXELS),
        "JPEG",
        quality=50,
        optimize=True,
        subsampling="4:2:0",
        progressive=False,
    )
    assert compress_jpeg(source, 50, MAX_PIXELS, progressive=False).data == expected
