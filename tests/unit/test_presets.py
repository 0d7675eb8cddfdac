"""imgpipe.contract.presets: the preset setting's syntax, and the size of a preset's variant of a source."""

from __future__ import annotations

import pytest

from imgpipe.contract.presets import OutputFormat, Preset, parse_presets


def _preset(width: int, height: int) -> Preset:
    return Preset(name="box", width=width, height=height, format=OutputFormat.JPEG, quality=80)


def test_parse_presets_reads_every_field() -> None:
    assert parse_presets(" thumb:400x400:webp:75, large:1600x1200:AVIF:50 ,") == (
        Preset(name="thumb", width=400, height=400, format=OutputFormat.WEBP, quality=75),
        Preset(name="large", width=1600, height=1200, format=OutputFormat.AVIF, quality=50),
    )


def test_no_presets() -> None:
    assert parse_presets("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thumb:400:webp:75", "preset 'thumb:400:webp:75': expected name:WIDTHxHEIGHT:format:quality"),
        ("thumb:400x400:webp", "expected name:WIDTHxHEIGHT:format:quality"),
        ("thumb:400x400:gif:75", "preset 'thumb': unknown format 'gif'; known formats: jpeg, webp, avif"),
        ("thumb:400x400:webp:0", "preset 'thumb': quality input should be greater than or equal to 1"),
        ("thumb:400x400:webp:101", "preset 'thumb': quality input should be less than or equal to 100"),
        ("thumb:0x400:webp:75", "preset 'thumb': width input should be greater than or equal to 1"),
        ("Thumb:400x400:webp:75", "preset 'Thumb': name string should match pattern"),
        ("a:1x1:jpeg:50,b:2x2:webp:50,a:3x3:avif:50", "preset 'a' is defined twice"),
    ],
)
def test_bad_presets_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_presets(text)
    assert message in str(raised.value)


def test_formats_name_their_files() -> None:
    assert [(f.extension, f.media_type) for f in OutputFormat] == [
        ("jpg", "image/jpeg"),
        ("webp", "image/webp"),
        ("avif", "image/avif"),
    ]


@pytest.mark.parametrize(
    ("box", "source", "fitted"),
    [
        ((400, 400), (1024, 768), (400, 300)),  # landscape: the width meets the box
        ((400, 400), (768, 1024), (300, 400)),  # portrait: the height does
        ((400, 300), (1000, 1000), (300, 300)),  # a square in a wide box
        ((400, 400), (1000, 333), (400, 133)),  # 133.2 rounds down
        ((400, 400), (1000, 335), (400, 134)),  # 134.0
        ((400, 400), (800, 401), (400, 201)),  # 200.5: halves round up
        ((400, 400), (300, 200), (300, 200)),  # smaller than the box: never enlarged
        ((400, 400), (400, 400), (400, 400)),
        ((400, 400), (5000, 1), (400, 1)),  # a 1-px line keeps its pixel
        ((400, 400), (1, 5000), (1, 400)),
        ((1, 1), (1024, 768), (1, 1)),
    ],
)
def test_fitted_size(box: tuple[int, int], source: tuple[int, int], fitted: tuple[int, int]) -> None:
    assert _preset(*box).fitted_size(*source) == fitted


def test_presets_are_values() -> None:
    preset = _preset(10, 10)
    with pytest.raises(ValueError):
        preset.quality = 5  # type: ignore[misc]
    assert preset == _preset(10, 10) and hash(preset) == hash(_preset(10, 10))
