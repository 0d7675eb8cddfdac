"""Content-addressed outputs: an output's name is a hash of what determines its bytes.

The same source bytes encoded with the same settings by the same pipeline give the same JPEG, so
the name is the SHA-256 of the source bytes' own SHA-256, the encode settings (JPEG quality,
progressive or not) and `PIPELINE_VERSION`, scoped by the request's owner: identical images
under different URLs, or uploaded again next week, map to one object, compressed and stored
once. A row processed twice writes the name it wrote before, so it leaves no orphan object.

The owner (an API key's id, or none on an open API) is part of the hash so that one owner cannot
find out, by computing a name, whether another has processed an image.
"""

from __future__ import annotations

import hashlib

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
