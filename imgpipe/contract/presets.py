"""Named output presets: a bounding box, a format and a quality, configured once and chosen per request.

Shared by the gateway (which checks the names a request asks for) and the processors (which make
the variants), so it knows nothing of Pillow: what a preset is, how its setting is written
(`name:WIDTHxHEIGHT:format:quality`, comma-separated) and what size its variant of a source has.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PRESET_SYNTAX = "name:WIDTHxHEIGHT:format:quality, e.g. thumb:400x400:webp:75"
_ENTRY = re.compile(r"^(?P<name>[^:]*):(?P<width>\d+)x(?P<height>\d+):(?P<format>[^:]*):(?P<quality>-?\d+)$")


class OutputFormat(StrEnum):
    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"

    @property
    def extension(self) -> str:
        return "jpg" if self is OutputFormat.JPEG else self.value

    @property
    def media_type(self) -> str:
        return f"image/{self.value}"


class Preset(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    format: OutputFormat
    quality: int = Field(ge=1, le=100)

    def fitted_size(self, width: int, height: int) -> tuple[int, int]:
        """The size of this preset's variant of a `width`x`height` source: inside the box, the
        source's aspect ratio, never larger than the source (a smaller one keeps its size).

        The side that meets the box gets the box's size exactly; the other is scaled by the same
        factor and rounded to the nearest integer (halves up), at least 1. Integer arithmetic,
        so every process computes the same size for the same source.
        """
        if width <= self.width and height <= self.height:
            return width, height
        if width * self.height >= height * self.width:  # the width meets the box first
            return self.width, max(1, (2 * height * self.width + width) // (2 * width))
        return max(1, (2 * width * self.height + height) // (2 * height)), self.height


def _parse_entry(entry: str) -> Preset:
    match = _ENTRY.match(entry)
    if match is None:
        raise ValueError(f"preset {entry!r}: expected {PRESET_SYNTAX}")
    name = match["name"]
    try:
        output_format = OutputFormat(match["format"].lower())
    except ValueError:
        known = ", ".join(output.value for output in OutputFormat)
        raise ValueError(
            f"preset {name!r}: unknown format {match['format']!r}; known formats: {known}"
        ) from None
    try:
        return Preset(
            name=name,
            width=int(match["width"]),
            height=int(match["height"]),
            format=output_format,
            quality=int(match["quality"]),
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))} {e['msg'].lower()}" for e in error.errors())
        raise ValueError(f"preset {name!r}: {problems}") from None


def parse_presets(text: str) -> tuple[Preset, ...]:
    """The presets of a setting such as `thumb:400x400:webp:75,large:1600x1600:avif:50` ('' for none)."""
    presets: list[Preset] = []
    for entry in text.split(","):
        if not entry.strip():
            continue
        preset = _parse_entry(entry.strip())
        if any(known.name == preset.name for known in presets):
            raise ValueError(f"preset {preset.name!r} is defined twice")
        presets.append(preset)
    return tuple(presets)
