"""Store a compressed image under its content name, waiting out a storage outage.

While the store is unavailable the row waits here, and so does its partition's commit point:
nothing is skipped, as for an unreachable broker.
"""

from __future__ import annotations

import io

from PIL import Image

from imgpipe.runtime.retrying import until_available
from imgpipe.storage.base import ObjectStorage

# An output's header up to its first scan: it has no metadata, so a few hundred bytes.
_HEADER_BYTES = 8 * 1024


async def stored_size(storage: ObjectStorage, key: str) -> int | None:
    """The size of the output stored under `key`, or None when there is none (never stored, or
    gone from storage since)."""
    info = await until_available(lambda: storage.stat(key), "looking for a stored image")
    return None if info is None else info.size


async def store_image(storage: ObjectStorage, key: str, data: bytes, media_type: str) -> None:
    """An atomic put (a temporary file renamed, or one S3 put): a reader sees the whole image or
    none. Two workers storing the same content name at once store the same bytes."""
    await until_available(lambda: storage.put(key, data, media_type), "storing an image")


async def copy_stored(storage: ObjectStorage, source: str, target: str) -> bool:
    """Store the output under `source` under `target` too; False when there is none under `source`."""
    return await until_available(lambda: storage.copy(source, target), "copying a stored image")


async def stored_dimensions(storage: ObjectStorage, key: str) -> tuple[int, int]:
    """Width and height of a stored output, from its JPEG header: for an output found under its
    content name, whose pixels are never decoded here."""
    header = await until_available(lambda: _read_header(storage, key), "reading a stored image's header")
    with Image.open(io.BytesIO(header), formats=("JPEG",)) as image:
        return image.size


async def _read_header(storage: ObjectStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, 0, _HEADER_BYTES)])
