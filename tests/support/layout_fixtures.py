"""The old-layout fixtures (tests/fixtures/layout_v1, recorded by
tests/fixtures/generate_layout_fixtures.py from release 8261b3e): read them, and stage an upgrade
with them: a stack of this release started on the data exactly as that release left it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from bson import json_util
from pymongo import MongoClient

from devstack import processes
from devstack.paths import ROOT
from devstack.stack import start_services
from devstack.sync_run import run_sync
from devstack.throwaway import wait_for_processors
from imgpipe.contract.topics import TOPICS, TopicSpec
from imgpipe.state.database import LAYOUT, Document
from imgpipe.state.layout import STORAGE_MARKER_KEY
from imgpipe.storage.factory import open_storage
from tests.fixtures.generate_layout_fixtures import source_etag
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.stack import RunningStack, running_test_stack

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


_SERVICES = ("gateway", "aggregator")


def _load(stack: RunningStack, fixtures: LayoutFixtures) -> None:
    """The recorded objects, then the documents, as the old release left them: without the layout
    records and storage marker this release's first start wrote, which the old release never had."""
    storage = open_storage(stack.settings.storage, stack.settings.base_url)

    async def put_objects() -> None:
        await storage.delete(STORAGE_MARKER_KEY)
        for key, body in fixtures.objects().items():
            await storage.put(key, body, _CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream"))

    run_sync(put_objects())
    client: MongoClient[Document] = MongoClient(stack.settings.mongodb_url, tz_aware=True)
    try:
        db = client[stack.settings.mongodb_database]
        db.drop_collection(LAYOUT.name)
        for name, documents in fixtures.collections().items():
            db[name].insert_many(documents)
    finally:
        client.close()


@contextmanager
def upgraded_stack(
    fixtures: LayoutFixtures, backend: str, overrides: dict[str, str], processor_count: int
) -> Iterator[RunningStack]:
    """An upgrade staged on a fresh stack: its services stopped, the old release's data loaded, and
    this release's services started on it (the aggregator migrates it first, as in production)."""
    state_dir = ROOT / ".local" / f"upgrade-stack-{backend}"
    with running_test_stack(processor_count, fixtures.source_address, state_dir, overrides) as stack:
        processors = [f"processor-{number}" for number in range(1, processor_count + 1)]
        for name in (*_SERVICES, *processors):
            processes.stop(stack.paths, name)
        _load(stack, fixtures)
        start_services(stack.settings, stack.paths, processor_count)
        wait_for_processors(stack.settings, processor_count)
        yield stack


@contextmanager
def serving_old_sources(fixtures: LayoutFixtures) -> Iterator[LocalHttpServer]:
    """The recorded sources, at the address and with the validators the old release fetched them at."""
    server = LocalHttpServer(bind_port=int(fixtures.source_address.rsplit(":", 1)[1]))
    for name, body in fixtures.sources().items():
        content_type = "image/png" if name.endswith(".png") else "image/jpeg"
        server.resources[f"/{name}"] = Resource(body, content_type, etag=source_etag(body))
    with server.running():
        yield server
