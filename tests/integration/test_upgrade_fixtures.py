"""Upgrades lose nothing: a stack of the current code is started on what release 8261b3e stored and
published (tests/fixtures/layout_v1), on files and on S3, as an upgrade starts it (the aggregator
applying the pending migrations first), and checked as its user would.

- The finished request answers its status with the same counts, downloads the recorded output CSV
  byte for byte, and its image URLs serve the recorded images.
- The unfinished request (half published by a gateway that was killed, its published rows never
  processed) completes exactly: a gateway of this release takes its publishing over from the old
  checkpoint, and the old release's row messages, still on the topic after an upgrade, are processed
  by this release's processors (old message, new code).
- The messages this release writes for it validate against the old release's schemas (new message,
  old consumer).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
from PIL import Image

from devstack.sync_run import run_sync
from imgpipe.contract.topics import EVENTS, RESULTS, ROWS
from imgpipe.state.layout import LAYOUT_VERSION, stored_marker
from imgpipe.storage.factory import open_storage
from tests.support.helpers import read_csv, read_topic, wait_finished
from tests.support.layout_fixtures import LAYOUT_V1_FIXTURES, serving_old_sources, upgraded_stack
from tests.support.local_http_server import LocalHttpServer
from tests.support.stack import ON_S3, RunningStack
from tests.support.staged_requests import send_one

pytestmark = pytest.mark.integration

FIXTURES = LAYOUT_V1_FIXTURES
# What the old release answered, and what must not change.
STATUS_FIELDS = (
    "status",
    "rows",
    "images",
    "rows_published",
    "quality",
    "created_at",
    "completed_at",
    "webhook",
)


@pytest.fixture(scope="module")
def old_sources() -> Iterator[LocalHttpServer]:
    with serving_old_sources(FIXTURES) as server:
        yield server


@pytest.fixture(scope="module", params=["files", "s3"])
def upgraded(request: pytest.FixtureRequest, old_sources: LocalHttpServer) -> Iterator[RunningStack]:
    """A stack of this release started on what the old release left, its rows still on the topic."""
    overrides = ON_S3 if request.param == "s3" else {}
    with upgraded_stack(FIXTURES, request.param, overrides, processor_count=1) as stack:
        yield stack


def _gateway_path(stack: RunningStack, recorded_url: str) -> str:
    """A URL the old gateway handed out, on this stack's gateway (the same host after a real upgrade)."""
    return stack.base_url + urlsplit(recorded_url).path


def test_a_finished_request_reads_as_the_old_release_answered(upgraded: RunningStack) -> None:
    request_id = FIXTURES.finished_id
    recorded = FIXTURES.manifest["finished"]["status"]
    objects = FIXTURES.objects()

    status = httpx.get(f"{upgraded.base_url}/status/{request_id}", timeout=10).json()
    assert {field: status[field] for field in STATUS_FIELDS} == {
        field: recorded[field] for field in STATUS_FIELDS
    }
    # Finished before retention existed: migration 0001 gave it a retention from the upgrade on.
    assert datetime.fromisoformat(status["expires_at"]) > datetime.now(UTC) + timedelta(days=29)

    download = httpx.get(f"{upgraded.base_url}/download/{request_id}", timeout=10)
    assert download.status_code == 200
    recorded_csv = objects[f"{request_id}/output.csv"]
    assert download.content == recorded_csv

    image_urls = [url for cells in read_csv(recorded_csv.decode())[1:] for url in cells[3].split(",") if url]
    assert len(image_urls) == recorded["images"]["done"]
    for url in image_urls:
        answer = httpx.get(_gateway_path(upgraded, url), timeout=10)
        assert answer.status_code == 200, url
        assert answer.content == objects[urlsplit(url).path.removeprefix("/processed_images/")]


def _source_size(url: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(FIXTURES.sources()[Path(urlsplit(url).path).name])) as source:
        return source.size


async def test_an_unfinished_request_completes_exactly(upgraded: RunningStack) -> None:
    request_id = FIXTURES.unfinished_id
    old_rows = [message for message in FIXTURES.messages(ROWS) if request_id.encode() in message.value]
    assert len(old_rows) == FIXTURES.manifest["unfinished"]["rows_published"]
    for message in old_rows:
        assert message.key is not None
        await send_one(upgraded, ROWS, message.value, message.key)

    status = wait_finished(upgraded.base_url, request_id, timeout_s=180)
    assert status["status"] == "completed"
    assert status["rows"] == {"total": 4, "done": 4, "failed": 0}
    assert status["images"] == {"total": 5, "done": 5, "failed": 0}
    # The aggregator migrated the old data at start: the storage says it is at this release's layout.
    marker = run_sync(stored_marker(open_storage(upgraded.settings.storage, upgraded.settings.base_url)))
    assert marker is not None and marker.layout == LAYOUT_VERSION

    async with httpx.AsyncClient(timeout=10) as client:
        table = read_csv((await client.get(f"{upgraded.base_url}/download/{request_id}")).text)
        assert [cells[:2] for cells in table[1:]] == [
            ["1", "Red mug again"],
            ["2", "Yellow lamp"],
            ["3", "Purple chair"],
            ["4", "Orange crate"],
        ]
        for cells in table[1:]:
            inputs, outputs = cells[2].split(","), cells[3].split(",")
            assert len(outputs) == len(inputs)
            for input_url, output_url in zip(inputs, outputs, strict=True):
                with Image.open(io.BytesIO((await client.get(output_url)).content)) as output:
                    assert output.format == "JPEG" and output.size == _source_size(input_url)

    # What this release wrote for the request, read by a consumer of the old release's schemas.
    bootstrap = upgraded.settings.kafka_bootstrap_servers
    for topic, expected in ((ROWS, 4), (RESULTS, 4), (EVENTS, 1)):
        messages = await read_topic(
            bootstrap, topic, lambda message: message.get("request_id") == request_id, expected, timeout_s=30
        )
        assert len(messages) >= expected, topic
        for message in messages:
            jsonschema.validate(message, FIXTURES.schema(topic))
