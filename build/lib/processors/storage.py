"""Store compressed images under processed_images/<request_id>/, atomically."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from imgpipe.request_paths import request_dir


def new_image_name(row: int, index: int) -> str:
    # The random part makes output URLs unguessable even to someone who knows the request id.
    return f"{row}-{index}-{secrets.token_urlsafe(12)}.jpg"


def store_image(processed_images_dir: Path, request_id: str, file_name: str, data: bytes) -> Path:
    """Write to a temporary name and rename, so a reader never sees a half-written file."""
    directory = request_dir(processed_images_dir, request_id)
    final = directory / file_name
    temporary = directory / f".{file_name}.{os.getpid()}.tmp"
    try:
        temporary.write_bytes(data)
    except FileNotFoundError:
        # The gateway creates the directory on upload; only a volume set up differently lacks
        # it. Not checked for every image: that mkdir cost 7% of a worker's time.
        directory.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
    temporary.replace(final)
    return final
