"""The `file` backend: objects are files under one directory (`processed_images/` by default).

The embedded default for one machine. Atomic puts write a temporary file beside the target and
rename it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from imgpipe.storage.base import ObjectInfo, ObjectNotFound, ObjectStorage, PutSource, StorageMisconfigured

READ_CHUNK_BYTES = 256 * 1024


class FileStorage(ObjectStorage):
    def __init__(self, root: Path, gateway_base_url: str, public_base_url: str | None = None) -> None:
        super().__init__(gateway_base_url, public_base_url)
        self.root = root.absolute()

    def _path(self, key: str) -> Path:
        return self.root / key

    async def put(self, key: str, source: PutSource, content_type: str) -> None:
        path = self._path(key)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            if isinstance(source, Path):
                _move(source, temporary)
            elif isinstance(source, bytes):
                _write_new_file(temporary, source)
            else:
                await _write_chunks(temporary, source)
            temporary.replace(path)
        finally:
            temporary.unlink(missing_ok=True)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        try:
            file = self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        with file:
            file.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                chunk = file.read(READ_CHUNK_BYTES if remaining is None else min(READ_CHUNK_BYTES, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            stat = self._path(key).stat()
        except FileNotFoundError:
            return None
        # The same shape of tag as a static file server's: changes whenever the file is replaced.
        return ObjectInfo(
            size=stat.st_size,
            etag=f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"',
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        )

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def copy(self, source: str, target: str) -> bool:
        # A hard link: no bytes copied, and each name outlives the other's deletion.
        target_path = self._path(target)
        try:
            _link(self._path(source), target_path)
        except FileNotFoundError:
            if not self._path(source).exists():
                return False
            target_path.parent.mkdir(parents=True, exist_ok=True)
            _link(self._path(source), target_path)
        return True

    async def child_prefixes(self, prefix: str) -> list[str]:
        try:
            children = [entry.name for entry in os.scandir(self._path(prefix)) if entry.is_dir()]
        except FileNotFoundError:
            return []
        return sorted(f"{prefix}/{child}" for child in children)

    async def holds_objects(self, prefix: str) -> bool:
        return any(names for _, _, names in os.walk(self._path(prefix)))

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(_remove_tree, self._path(prefix))

    async def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageMisconfigured(f"cannot create the storage directory {self.root}: {error}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageMisconfigured(f"the storage directory {self.root} is not writable")

    def object_name(self, key: str) -> str:
        return key

    @property
    def staging_dir(self) -> Path:
        # On the same filesystem as the objects, so that putting a staged file is a rename.
        return self.root


def _write_new_file(path: Path, data: bytes) -> None:
    try:
        _create(path, data)
    except FileNotFoundError:
        # The key's directory: created on its first object, not checked before every image
        # (that mkdir cost 7% of a worker's time).
        path.parent.mkdir(parents=True, exist_ok=True)
        _create(path, data)


def _create(path: Path, data: bytes) -> None:
    # "x": a temporary name (random) already taken would be a bug, not an update.
    with open(path, "xb") as file:
        file.write(data)


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        source.replace(target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        shutil.copyfile(source, target)  # another filesystem: copy instead


async def _write_chunks(path: Path, chunks: AsyncIterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        async for chunk in chunks:
            file.write(chunk)


def _link(source: Path, target: Path) -> None:
    # An existing target holds the same content, stored by another worker.
    with contextlib.suppress(FileExistsError):
        os.link(source, target)


def _remove_tree(directory: Path) -> int:
    """Remove `directory` and all in it; the number of files it held (0 if it does not exist)."""
    files = sum(len(names) for _, _, names in os.walk(directory))
    shutil.rmtree(directory, ignore_errors=True)
    return files
