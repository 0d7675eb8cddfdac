"""Content names: the same source bytes and settings give the same name, anything else another;
a variant's name follows its preset's parameters, not the preset's name."""

from __future__ import annotations

import pytest

from imgpipe.contract.presets import OutputFormat, Preset
from processors import encoders
from processors.content_address import content_name, variant_name


@pytest.mark.parametrize("owner", [None, "owner-1"])
def test_content_names_depend_on_every_input(owner: str | None) -> None:
    base = content_name(owner, "ab" * 32, 50, False)
    assert len(base) == 64
    assert base == content_name(owner, "ab" * 32, 50, False)
    others = {
        content_name("someone-else", "ab" * 32, 50, False),
        content_name(owner, "cd" * 32, 50, False),
        content_name(owner, "ab" * 32, 51, False),
        content_name(owner, "ab" * 32, 50, True),
    }
    assert base not in others and len(others) == 4


def _preset(name: str = "thumb", quality: int = 75, **changes: object) -> Preset:
    fields: dict[str, object] = {"width": 400, "height": 400, "format": OutputFormat.WEBP, **changes}
    return Preset.model_validate({"name": name, "quality": quality, **fields})


def test_variant_names_follow_what_makes_the_bytes_not_the_preset_name() -> None:
    base = variant_name("owner-1", "ab" * 32, _preset())
    assert len(base) == 64
    assert base == variant_name("owner-1", "ab" * 32, _preset(name="listing"))  # renamed: reused
    others = {
        variant_name(None, "ab" * 32, _preset()),
        variant_name("owner-1", "cd" * 32, _preset()),
        variant_name("owner-1", "ab" * 32, _preset(quality=76)),
        variant_name("owner-1", "ab" * 32, _preset(width=401)),
        variant_name("owner-1", "ab" * 32, _preset(height=401)),
        variant_name("owner-1", "ab" * 32, _preset(format=OutputFormat.AVIF)),
        variant_name("owner-1", "ab" * 32, _preset(format=OutputFormat.JPEG)),
    }
    assert base not in others and len(others) == 7
    # A variant never takes the name of a main output.
    assert base != content_name("owner-1", "ab" * 32, 75, False)


def test_variant_names_follow_the_encoder_effort(monkeypatch: pytest.MonkeyPatch) -> None:
    before = variant_name(None, "ab" * 32, _preset())
    monkeypatch.setattr(encoders, "WEBP_METHOD", encoders.WEBP_METHOD + 1)
    assert variant_name(None, "ab" * 32, _preset()) != before
