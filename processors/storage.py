"""Store a compressed image under a name of its own, waiting out a storage outage."""

from __future__ import annotations

import secrets

from imgpipe.retrying import until_available
from imgpipe.storage.base import ObjectStorage


def new_image_name(row: int, index: int) -> str:
    # The random part makes output URLs unguessable even to someone who knows the request id.
    return f"{row}-{index}-{secrets.token_urlsafe(12)}.jpg"


async def store_image(storage: ObjectStorage, key: str, data: bytes) -> None:
    """A fresh key: no reader can see a half-written image, since the name is random and becomes
    known only through the row's result, published after the write. A write cut short by a crash
    leaves an object no one knows the name of; the row is done again under a new name.

    While the store is unavailable the row waits here, and so does its partition's commit point:
    nothing is skipped, as for an unreachable broker."""
    await until_available(lambda: storage.put(key, data, "image/jpeg", fresh_key=True), "storing an image")
