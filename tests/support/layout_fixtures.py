"""The old-layout fixtures (tests/fixtures/layout_v1, recorded by
tests/fixtures/generate_layout_fixtures.py from release 8261b3e): read them, and load them into a
running stack's database and storage exactly as that release left them."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from bson import json_util
from pymongo import MongoClient

from devstack.sync_run import run_sync
from imgpipe.database import UNFINISHED_REQUESTS, Document
from imgpipe.storage.factory import open_storage
from imgpipe.topics import TOPICS, TopicSpec
from tests.support.stack import RunningStack

LAYOUT_V1 = Path(__file__).resolve().parent.parent / "fixtures" / "layout_v1"

_CONTENT_TYPES = {".csv": "text/csv", ".jpg": "image/jpeg"}


@dataclass(frozen=True)
class RecordedMessage:
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class LayoutFixtures:
    root: Path

    @cached_property
    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.root / "manifest.json").read_text())
        return manifest

    @property
    def source_address(self) -> str:
        """host:port of the recorded source URLs, which the test stacks allowlist."""
        return str(self.manifest["source_origin"]).removeprefix("http://")

    @property
    def finished_id(self) -> str:
        return str(self.manifest["finished"]["request_id"])

    @property
    def unfinished_id(self) -> str:
        return str(self.manifest["unfinished"]["request_id"])

    def collections(self) -> dict[str, list[Document]]:
        """Every recorded collection's documents, with their BSON types."""
        return {
            path.stem: json_util.loads(path.read_text())
            for path in sorted((self.root / "collections").glob("*.json"))
        }

    def objects(self) -> dict[str, bytes]:
        """Every recorded stored object by its key."""
        base = self.root / "objects"
        return {
            path.relative_to(base).as_posix(): path.read_bytes()
            for path in sorted(base.rglob("*"))
            if path.is_file()
        }

    def messages(self, topic: str) -> list[RecordedMessage]:
        records = json.loads((self.root / "messages" / f"{topic}.json").read_text())
        return [
            RecordedMessage(
                None if record["key"] is None else base64.b64decode(record["key"]),
                base64.b64decode(record["value"]),
            )
            for record in records
        ]

    def schema(self, topic: str) -> dict[str, Any]:
        schema: dict[str, Any] = json.loads((self.root / "schemas" / f"{topic}.schema.json").read_text())
        return schema

    def sources(self) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in sorted((self.root / "sources").iterdir())}


LAYOUT_V1_FIXTURES = LayoutFixtures(LAYOUT_V1)
TOPIC_SPECS: dict[str, TopicSpec[Any]] = {spec.name: spec for spec in TOPICS}


def load_into(stack: RunningStack, fixtures: LayoutFixtures) -> None:
    """The recorded objects, then the documents, into the stack, as the old release left them;
    the requests in flight last, so that no service sees one before everything it refers to."""
    storage = open_storage(stack.settings)

    async def put_objects() -> None:
        for key, body in fixtures.objects().items():
            await storage.put(key, body, _CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream"))

    run_sync(put_objects())
    client: MongoClient[Document] = MongoClient(stack.settings.mongodb_url, tz_aware=True)
    try:
        db = client[stack.settings.mongodb_database]
        collections = fixtures.collections()
        in_flight = collections.pop(UNFINISHED_REQUESTS.name, [])
        for name, documents in collections.items():
            db[name].insert_many(documents)
        if in_flight:
            db[UNFINISHED_REQUESTS.name].insert_many(in_flight)
    finally:
        client.close()
