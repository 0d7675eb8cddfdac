"""processors.variants: each preset's variant decodes in its format, at exactly its fitted size, with
the source's colours and no metadata; a missing encoder names the preset."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, features

from imgpipe.contract.presets import OutputFormat, Preset
from processors import variants
from processors.compress import decode_srgb
from processors.variants import EncoderMissing, encode_variants, require_encoders
from tests.support.photos import photo_like_image

MAX_PIXELS = 10_000_000
# Mean absolute difference, in levels of 255, from a plain Lanczos resize of the same pixels: the
# two-step resize moves a photo by about 0.5, the encoders at quality 90 add up to 2 (0.7 to 2.2
# measured); a colour gone wrong is tens of levels off.
MEAN_ERROR_BOUND = 4.0
FORMAT_NAMES = {OutputFormat.JPEG: "JPEG", OutputFormat.WEBP: "WEBP", OutputFormat.AVIF: "AVIF"}


def _preset(name: str, box: tuple[int, int], output_format: OutputFormat, quality: int = 90) -> Preset:
    return Preset(name=name, width=box[0], height=box[1], format=output_format, quality=quality)


def _photo(width: int, height: int) -> Image.Image:
    """A photo-like source, decoded as a processor decodes it (with an EXIF and ICC-free result)."""
    return decode_srgb(photo_like_image(width, height, seed=7), MAX_PIXELS)


def _mean_error(image: Image.Image, reference: Image.Image) -> float:
    difference = np.asarray(image.convert("RGB"), dtype=np.int16) - np.asarray(reference, dtype=np.int16)
    return float(np.abs(difference).mean())


@pytest.mark.parametrize("output_format", list(OutputFormat))
@pytest.mark.parametrize("source_size", [(1024, 768), (600, 900), (300, 200)])
def test_each_variant_decodes_in_its_format_at_its_fitted_size_with_the_source_colours(
    output_format: OutputFormat, source_size: tuple[int, int]
) -> None:
    rgb = _photo(*source_size)
    preset = _preset("box", (400, 400), output_format)

    (variant,) = encode_variants(rgb, [preset])

    size = preset.fitted_size(*source_size)
    assert (variant.preset, variant.width, variant.height) == (preset, *size)
    decoded = Image.open(io.BytesIO(variant.data))
    decoded.load()
    assert decoded.format == FORMAT_NAMES[output_format]
    assert decoded.size == size
    assert not decoded.info.get("icc_profile") and not decoded.info.get("exif")
    assert not decoded.getexif()
    reference = rgb.resize(size, Image.Resampling.LANCZOS)
    assert _mean_error(decoded, reference) < MEAN_ERROR_BOUND


def test_variants_come_in_the_presets_order_and_share_resizes(monkeypatch: pytest.MonkeyPatch) -> None:
    rgb = _photo(1600, 1200)
    presets = [
        _preset("small-jpeg", (200, 200), OutputFormat.JPEG),
        _preset("large", (1000, 1000), OutputFormat.WEBP),
        _preset("small-webp", (200, 150), OutputFormat.WEBP),  # the same fitted size as small-jpeg
        _preset("full", (4000, 4000), OutputFormat.JPEG),  # larger than the source: its own size
    ]
    resizes: list[tuple[tuple[int, int], tuple[int, int]]] = []
    original_resize = Image.Image.resize

    def counting_resize(
        image: Image.Image, size: tuple[int, int], *args: object, **kwargs: object
    ) -> Image.Image:
        resizes.append((image.size, size))
        return original_resize(image, size, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "resize", counting_resize)
    made = encode_variants(rgb, presets)

    assert [(v.preset.name, v.width, v.height) for v in made] == [
        ("small-jpeg", 200, 150),
        ("large", 1000, 750),
        ("small-webp", 200, 150),
        ("full", 1600, 1200),
    ]
    # The largest first; the thumbnail from it (at least DERIVE_FROM_FACTOR times its size).
    assert resizes == [((1600, 1200), (1000, 750)), ((1000, 750), (200, 150))]


def test_a_variant_close_to_its_source_size_is_resized_from_the_source() -> None:
    rgb = _photo(1000, 1000)
    made = encode_variants(
        rgb, [_preset("a", (900, 900), OutputFormat.JPEG), _preset("b", (800, 800), OutputFormat.JPEG)]
    )
    assert [(v.width, v.height) for v in made] == [(900, 900), (800, 800)]
    assert variants.DERIVE_FROM_FACTOR * 800 > 900  # so "b" came from the source, not from "a"


def test_one_pixel_edges_survive() -> None:
    made = encode_variants(_photo(2000, 3), [_preset("line", (400, 400), OutputFormat.AVIF)])
    assert (made[0].width, made[0].height) == (400, 1)
    assert Image.open(io.BytesIO(made[0].data)).size == (400, 1)


def test_no_presets_make_no_variants() -> None:
    assert encode_variants(_photo(64, 48), []) == []


def test_a_missing_encoder_names_the_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    presets = [
        _preset("thumb", (400, 400), OutputFormat.WEBP),
        _preset("large", (1600, 1600), OutputFormat.AVIF),
    ]
    monkeypatch.setattr(features, "check", lambda feature: feature != "avif")

    with pytest.raises(EncoderMissing, match="preset 'large' needs the AVIF encoder"):
        require_encoders(presets)
    require_encoders(presets[:1])  # WebP is there
    require_encoders([_preset("card", (800, 800), OutputFormat.JPEG)])


def test_this_installation_has_every_encoder() -> None:
    require_encoders([_preset(f.value, (10, 10), f) for f in OutputFormat])
