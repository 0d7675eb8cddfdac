"""The presets a request asked for: stored whole in its document, counted by the limits.

A request keeps each preset as it was defined when the request was accepted, so its rows, its
repair and its output CSV agree even if the configuration changes while it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from imgpipe.contract.presets import Preset


def presets_of(request: Mapping[str, Any]) -> list[Preset]:
    """The presets of a request document, in the order asked for; none in requests accepted
    before presets existed."""
    return [Preset.model_validate(preset) for preset in request.get("presets", [])]


def stored_presets(presets: Sequence[Preset]) -> list[dict[str, Any]]:
    return [preset.model_dump(mode="json") for preset in presets]


def outputs_per_image(presets: Sequence[Preset]) -> int:
    """What one input image costs the processors, in outputs: the JPEG and a variant per preset.
    The limits on rows count a row this many times, so presets cannot multiply work unnoticed."""
    return 1 + len(presets)
