"""A processor whose Pillow cannot write a configured preset's format refuses to start, in one
line naming the preset, before it joins the group or takes any row."""

from __future__ import annotations

from typing import NoReturn

import pytest

from imgpipe.config.settings import Settings
from processors import run, variants


def _never_started(*_: object) -> NoReturn:
    raise AssertionError("the worker started")


def test_a_missing_encoder_stops_the_processor_with_one_line_naming_the_preset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    presets = "thumb:400x400:webp:75,large:1600x1600:avif:50"
    monkeypatch.setattr(run, "settings_for_service", lambda service: Settings(presets=presets))
    monkeypatch.setattr(variants.features, "check", lambda feature: feature != "avif")
    monkeypatch.setattr(run, "run_worker", _never_started)

    with pytest.raises(SystemExit) as refused:
        run.run_processor()

    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("imgpipe processor: preset 'large' needs the AVIF encoder")
    assert message.endswith("remove the preset from IMGPIPE_PRESETS")
