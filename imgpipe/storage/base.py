"""The storage interface every backend implements, and the failures it reports.

Keys are `/`-separated names relative to the store's root (`<request_id>/<file>`); a backend maps
them to files or objects. Reading streams, so no caller ever holds a whole object.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# What `put` takes: the bytes, a local file (moved or uploaded), or a stream of chunks.
PutSource = bytes | Path | AsyncIterable[bytes]


class StorageUnavailable(ConnectionError):
    """The store does not answer right now: wait and retry (a ConnectionError, so that
    imgpipe.runtime.retrying treats it like an unreachable broker or database)."""


class StorageMisconfigured(Exception):
    """The settings cannot work (missing bucket, refused credentials): retrying will not help."""


class ObjectNotFound(Exception):
    """No object under that key."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str  # a quoted strong entity tag, as HTTP sends it
    last_modified: datetime


class ObjectStorage(ABC):
    def __init__(self, gateway_base_url: str, public_base_url: str | None) -> None:
        self._gateway_base_url = gateway_base_url.rstrip("/")
        # A CDN or the bucket's own endpoint (IMGPIPE_PUBLIC_IMAGE_BASE_URL); None: the gateway.
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None

    @abstractmethod
    async def put(self, key: str, source: PutSource, content_type: str) -> None:
        """Store `source` under `key` atomically: a reader sees no object or the whole one."""

    @abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes from `start` to `end` (exclusive; None: the end), in chunks.
        Raises ObjectNotFound when there is no such object."""

    @abstractmethod
    async def stat(self, key: str) -> ObjectInfo | None:
        """Size, entity tag and time of the object, or None when there is none."""

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""

    @abstractmethod
    async def copy(self, source: str, target: str) -> bool:
        """Store the object under `source` under `target` too, without reading it through this
        process; False when there is no object under `source`."""

    @abstractmethod
    async def child_prefixes(self, prefix: str) -> list[str]:
        """The keys one level below `prefix/` that have objects under them (`prefix/child`), as a
        directory listing: what is in them is not listed."""

    @abstractmethod
    async def holds_objects(self, prefix: str) -> bool:
        """Whether any object's key starts with `prefix/` (one listing of at most one object)."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix/`; return how many there were. Costs
        what it removes: one listing of the prefix and a delete per object (or per batch)."""

    @abstractmethod
    async def check(self) -> None:
        """Raise StorageMisconfigured or StorageUnavailable unless the store can be used."""

    @abstractmethod
    def object_name(self, key: str) -> str:
        """The key as the store itself names it (an S3 object key includes the prefix)."""

    def public_url(self, key: str) -> str:
        """Where clients fetch the object: the gateway streams it from the store, or, with a public
        base URL set, that server serves the store's own object names directly."""
        if self._public_base_url is None:
            return f"{self._gateway_base_url}/processed_images/{key}"
        return f"{self._public_base_url}/{self.object_name(key)}"

    @property
    def staging_dir(self) -> Path:
        """Where a local file is best written before `put` takes it (the file backend renames it)."""
        return Path(tempfile.gettempdir())


async def read_all(storage: ObjectStorage, key: str) -> bytes:
    """For the small objects only (an offset index), never for images or CSVs."""
    return b"".join([chunk async for chunk in storage.read(key)])
