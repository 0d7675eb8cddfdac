"""The version of the stored layout: what shape the documents, stored objects and messages have.

A release reads everything the previous release wrote, or migrates it (imgpipe/state/migrations.py).
Where each kind of data says its version:

- Documents: a document without a `layout` field is layout 1 (everything written up to and
  including release 8261b3e); a later layout that changes a document's shape adds `layout: n` to
  the documents it writes, so a reader tells the shapes apart without asking anything else. The
  database as a whole is at the highest layout of the migrations applied to it, recorded in the
  `layout` collection (`migration/<name>`), or 1 when none was.
- Stored objects: the object `layout.json` at the root of the storage holds the layout of the
  data in it, written once the migrations are applied; objects without their own marker are layout 1.
- Messages: each topic's JSON carries `schema_version` (imgpipe/contract/messages.py); new fields are
  optional, so consumers of either release read both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from imgpipe.storage.base import ObjectStorage, read_all

# Layout 1: release 8261b3e's documents and objects (tests/fixtures/layout_v1 records them).
# Layout 2: retention (imgpipe/state/migrations.py says what it adds).
LAYOUT_VERSION = 2
FIRST_LAYOUT = 1
STORAGE_MARKER_KEY = "layout.json"


@dataclass(frozen=True)
class StorageMarker:
    layout: int
    migrations: tuple[str, ...]  # applied, in order

    def encode(self) -> bytes:
        return json.dumps({"layout": self.layout, "migrations": list(self.migrations)}).encode()


async def stored_marker(storage: ObjectStorage) -> StorageMarker | None:
    """The storage's marker; None when no release wrote one yet (its objects are then layout 1)."""
    if not await storage.exists(STORAGE_MARKER_KEY):
        return None
    recorded: dict[str, Any] = json.loads(await read_all(storage, STORAGE_MARKER_KEY))
    return StorageMarker(int(recorded["layout"]), tuple(recorded["migrations"]))


async def write_marker(storage: ObjectStorage, marker: StorageMarker) -> None:
    """Writes the marker unless it says that already (two services writing the same bytes at once
    is harmless: a put is atomic)."""
    if await stored_marker(storage) != marker:
        await storage.put(STORAGE_MARKER_KEY, marker.encode(), "application/json")
