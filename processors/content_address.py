"""Content-addressed outputs: an output's name is a hash of what determines its bytes.

The same source bytes encoded with the same settings by the same pipeline give the same JPEG, so
the name is the SHA-256 of the source bytes' own SHA-256, the encode settings (JPEG quality,
progressive or not) and `PIPELINE_VERSION`, scoped by the request's owner: identical images
under different URLs, or uploaded again next week, map to one object, compressed and stored
once. A row processed twice writes the name it wrote before, so it leaves no orphan object.

A preset's variant is named the same way from what determines its bytes: the box, the format,
the quality and the format's encoder effort (processors/encoders.py), never the preset's name, so
a preset renamed in the configuration finds the variants it made under its old name.

The owner (an API key's id, or none on an open API) is part of the hash so that one owner cannot
find out, by computing a name, whether another has processed an image.
"""

from __future__ import annotations

import hashlib

from imgpipe.contract.presets import Preset
from processors.encoders import encoder_effort

# Bump whenever the pipeline would encode the same input with the same settings differently
# (colour handling, encoder options, a Pillow upgrade that changes the bytes): outputs made by the
# old pipeline are then not reused.
PIPELINE_VERSION = 1


def source_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_name(owner: str | None, source_sha256: str, quality: int, progressive: bool) -> str:
    identity = "\n".join(
        ["imgpipe-output", str(PIPELINE_VERSION), owner or "", str(quality), str(progressive), source_sha256]
    )
    return hashlib.sha256(identity.encode()).hexdigest()


def variant_name(owner: str | None, source_sha256: str, preset: Preset) -> str:
    box = f"{preset.width}x{preset.height}"
    effort = encoder_effort(preset.format)
    identity = "\n".join(
        [
            "imgpipe-variant",
            str(PIPELINE_VERSION),
            owner or "",
            box,
            preset.format.value,
            str(preset.quality),
            "" if effort is None else str(effort),
            source_sha256,
        ]
    )
    return hashlib.sha256(identity.encode()).hexdigest()
