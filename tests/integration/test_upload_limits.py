"""Each key's limits, from the keys file, refuse an upload with 429, Retry-After and a body naming
the limit, its value and the usage; a refused upload leaves nothing behind; another key is not
affected; once the key's work has finished, it uploads again. (The keys file's parsing and the
open API's limits: tests/unit/test_key_policies.py, tests/api/test_upload_limits.py.)"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError
from pymongo import MongoClient

from devstack import processes
from imgpipe.contract.messages import RowMessage
from imgpipe.contract.topics import ROWS, ROWS_TOPIC
from imgpipe.state.database import REQUESTS, UPLOAD_SLOTS, Document
from tests.support.helpers import product_csv, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack, start_extra_gateway
from tests.support.worker_metrics import scrape, value

pytestmark = pytest.mark.integration

FEW_REQUESTS, FEW_ROWS, SLOW_RATE, UNLIMITED = (
    "key-few-requests",
    "key-few-rows",
    "key-slow-rate",
    "key-other",
)
GATEWAYS = ("gateway-limits-a", "gateway-limits-b")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _owner(key: str) -> str:
    return _digest(key)[:16]


KEYS_FILE = f"""
[[keys]]
name = "few-requests"
sha256 = "{_digest(FEW_REQUESTS)}"
max_unfinished_requests = 1

[[keys]]
name = "few-rows"
sha256 = "{_digest(FEW_ROWS)}"
max_unfinished_rows = 3
max_rows_per_upload = 2

[[keys]]
name = "slow-rate"
sha256 = "{_digest(SLOW_RATE)}"
max_uploads_per_minute = 2

[[keys]]
name = "other"
sha256 = "{_digest(UNLIMITED)}"
"""


@pytest.fixture(scope="module")
def gateways(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two more gateways on the stack's broker and database, both with the keys file."""
    keys_file = tmp_path_factory.mktemp("limits") / "keys.toml"
    keys_file.write_text(KEYS_FILE)
    urls = [start_extra_gateway(stack, name, {"IMGPIPE_API_KEYS_FILE": str(keys_file)}) for name in GATEWAYS]
    yield urls[0], urls[1]
    for name in GATEWAYS:
        processes.stop(stack.paths, name)


def _upload(gateway: str, key: str, rows: list[tuple[str, str, list[str]]], **form: str) -> httpx.Response:
    files = {"file": ("p.csv", product_csv(rows).encode(), "text/csv")}
    return httpx.post(f"{gateway}/upload", files=files, data=form, headers={"X-API-Key": key}, timeout=30)


def _accepted(response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    return request_id


def _assert_refused(response: httpx.Response, error: str, limit: str, value: int, usage: int) -> int:
    """The documented 429; returns its Retry-After."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert isinstance(body.pop("message"), str)
    assert body == {"error": error, "limit": limit, "value": value, "usage": usage}
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


def _rows(name: str, image: str, count: int) -> list[tuple[str, str, list[str]]]:
    return [(str(n + 1), f"{name} {n}", [image]) for n in range(count)]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Holds the images that keep a request unfinished until the test opens it."""
    event = threading.Event()
    yield event
    event.set()


def _gated_image(image_server: LocalHttpServer, path: str, gate: threading.Event) -> str:
    return image_server.add(path, Resource(photo_like_image(24, 16, seed=7), "image/jpeg", gate=gate))


def _image(image_server: LocalHttpServer, path: str) -> str:
    return image_server.add(path, Resource(photo_like_image(24, 16, seed=8), "image/jpeg"))


def _upload_once_finished(gateway: str, key: str, rows: list[tuple[str, str, list[str]]]) -> str:
    """Upload as a client told to retry would: the gateway sees a finished request within a second."""
    deadline = time.monotonic() + 30
    while (response := _upload(gateway, key, rows)).status_code == 429:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    return _accepted(response)


def _decoded_row(value: bytes | None) -> RowMessage | None:
    """A row message; None for what another test put on the topic on purpose (the dead letters')."""
    try:
        return ROWS_TOPIC.decode(value or b"")
    except ValidationError:
        return None


def _rows_on_topic(stack: RunningStack, owner: str) -> list[tuple[str, int]]:
    """The request id and row of every message of `owner` on imgpipe.rows, up to its current end."""

    async def read() -> list[tuple[str, int]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=stack.settings.kafka_bootstrap_servers, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(ROWS, p) for p in range(stack.settings.rows_partitions)]
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            found: list[RowMessage] = []
            while [p for p in partitions if await consumer.position(p) < ends[p]]:
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    found += [row for message in messages if (row := _decoded_row(message.value))]
            return sorted((row.request_id, row.row) for row in found if row.owner == owner)
        finally:
            await consumer.stop()

    return asyncio.run(read())


def _orphans(stack: RunningStack, mongo: MongoClient[Document]) -> set[str]:
    """The request ids that a document (in any collection) or a stored object names, but that have
    no request document: what a refused upload would have left behind."""
    db = mongo[stack.settings.mongodb_database]
    requests = {request["_id"] for request in db[REQUESTS.name].find({}, {"_id": 1})}
    named = {
        match.group()
        for name in db.list_collection_names()
        for document in db[name].find({}, {"_id": 1})
        if (match := UUID.match(str(document["_id"])))
    }
    storage = Path(stack.settings.storage_url.removeprefix("file://"))
    named |= {path.name for path in storage.iterdir() if UUID.fullmatch(path.name)}
    # A spooled upload is a directory of its own until it is stored or refused.
    named |= {path.name for path in storage.glob(".upload-*")}
    return named - requests


def _assert_only(
    gateway: str, key: str, accepted: dict[str, int], stack: RunningStack, mongo: MongoClient[Document]
) -> None:
    """The key's requests, rate slots and rows on imgpipe.rows are the accepted uploads' (request
    id: rows), once their rows are all published: none of a refused one."""
    for request_id in accepted:
        deadline = time.monotonic() + 30
        while (status := _status(gateway, key, request_id))["rows_published"] < status["rows"]["total"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
    db = mongo[stack.settings.mongodb_database]
    owner = _owner(key)
    assert {request["_id"] for request in db[REQUESTS.name].find({"owner": owner})} == set(accepted)
    slot_collections = [name for name in db.list_collection_names() if UPLOAD_SLOTS.period_of(name)]
    slots = sum(db[name].count_documents({"_id": {"$regex": f"^{owner}/"}}) for name in slot_collections)
    assert slots == len(accepted)
    assert _rows_on_topic(stack, owner) == sorted(
        (request_id, row) for request_id, rows in accepted.items() for row in range(rows)
    )


def _status(gateway: str, key: str, request_id: str) -> dict[str, Any]:
    response = httpx.get(f"{gateway}/status/{request_id}", headers={"X-API-Key": key}, timeout=10)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def test_unfinished_requests_are_limited_per_key_until_one_finishes(
    gateways: tuple[str, str],
    stack: RunningStack,
    mongo: MongoClient[Document],
    image_server: LocalHttpServer,
    gate: threading.Event,
) -> None:
    gateway = gateways[0]
    orphans = _orphans(stack, mongo)
    held = _gated_image(image_server, "/limits/requests-held.jpg", gate)
    image = _image(image_server, "/limits/requests.jpg")
    first = _accepted(_upload(gateway, FEW_REQUESTS, _rows("Held", held, 1)))

    refused = _upload(gateway, FEW_REQUESTS, _rows("Second", image, 1))
    assert _assert_refused(refused, "too_many_unfinished_requests", "max_unfinished_requests", 1, 1) == 10
    other = _accepted(_upload(gateway, UNLIMITED, _rows("Other", image, 1)))
    assert wait_finished(gateway, other, headers={"X-API-Key": UNLIMITED})["status"] == "completed"
    _assert_only(gateway, FEW_REQUESTS, {first: 1}, stack, mongo)
    assert _orphans(stack, mongo) == orphans

    gate.set()
    assert wait_finished(gateway, first, headers={"X-API-Key": FEW_REQUESTS})["status"] == "completed"
    again = _upload_once_finished(gateway, FEW_REQUESTS, _rows("Again", image, 1))
    assert wait_finished(gateway, again, headers={"X-API-Key": FEW_REQUESTS})["status"] == "completed"


def test_rows_are_limited_per_upload_and_while_unfinished(
    gateways: tuple[str, str],
    stack: RunningStack,
    mongo: MongoClient[Document],
    image_server: LocalHttpServer,
    gate: threading.Event,
) -> None:
    gateway = gateways[0]
    orphans = _orphans(stack, mongo)
    held = _gated_image(image_server, "/limits/rows-held.jpg", gate)
    image = _image(image_server, "/limits/rows.jpg")
    first = _accepted(_upload(gateway, FEW_ROWS, _rows("Held", held, 2)))

    too_big = _upload(gateway, FEW_ROWS, _rows("Big", image, 3))
    _assert_refused(too_big, "too_many_rows_per_upload", "max_rows_per_upload", 2, 3)
    over = _upload(gateway, FEW_ROWS, _rows("Over", image, 2))
    _assert_refused(over, "too_many_unfinished_rows", "max_unfinished_rows", 3, 2)
    # Presets count: a row asking for two is three outputs' work, one for one preset two.
    with_presets = _upload(gateway, FEW_ROWS, _rows("Presets", image, 1), presets="thumb,large")
    _assert_refused(with_presets, "too_many_rows_per_upload", "max_rows_per_upload", 2, 3)
    with_a_preset = _upload(gateway, FEW_ROWS, _rows("Preset", image, 1), presets="thumb")
    _assert_refused(with_a_preset, "too_many_unfinished_rows", "max_unfinished_rows", 3, 2)
    fits = _accepted(_upload(gateway, FEW_ROWS, _rows("Fits", image, 1)))
    _assert_only(gateway, FEW_ROWS, {first: 2, fits: 1}, stack, mongo)
    assert _orphans(stack, mongo) == orphans

    gate.set()
    assert wait_finished(gateway, first, headers={"X-API-Key": FEW_ROWS})["status"] == "completed"
    again = _upload_once_finished(gateway, FEW_ROWS, _rows("Again", image, 2))
    assert wait_finished(gateway, again, headers={"X-API-Key": FEW_ROWS})["status"] == "completed"


def _minute_with_time_left(seconds: float) -> int:
    """The current minute of the clock, once at least `seconds` of it are left."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left)
    return int(time.time() // 60)


def _assert_refused_for_the_minute(response: httpx.Response, minute: int) -> None:
    retry_after = _assert_refused(response, "upload_rate_exceeded", "max_uploads_per_minute", 2, 2)
    # Retry-After points at the next minute of the clock, in whole seconds rounded up.
    assert 0 <= time.time() + retry_after - (minute + 1) * 60 < 5


def test_uploads_per_minute_are_counted_exactly_across_gateways(
    gateways: tuple[str, str],
    stack: RunningStack,
    mongo: MongoClient[Document],
    image_server: LocalHttpServer,
) -> None:
    a, b = gateways
    orphans = _orphans(stack, mongo)
    rows = _rows("Rate", _image(image_server, "/limits/rate.jpg"), 1)
    minute = _minute_with_time_left(20)
    accepted = {_accepted(_upload(gateway, SLOW_RATE, rows)): 1 for gateway in (a, b)}
    # Gateway a took slot 0 and has not seen b take slot 1: it finds it taken in the database.
    _assert_refused_for_the_minute(_upload(a, SLOW_RATE, rows), minute)
    # Now both know the minute is full, and refuse before reading the file.
    _assert_refused_for_the_minute(_upload(a, SLOW_RATE, rows), minute)
    _assert_refused_for_the_minute(_upload(b, SLOW_RATE, rows), minute)
    assert int(time.time() // 60) == minute, "the uploads took longer than the 20 s left in the minute"

    _assert_only(a, SLOW_RATE, accepted, stack, mongo)
    assert _orphans(stack, mongo) == orphans
    labels = {"owner": _owner(SLOW_RATE), "limit": "max_uploads_per_minute"}
    refused = [value(scrape(f"{g}/metrics"), "imgpipe_uploads_refused_total", **labels) for g in (a, b)]
    assert refused == [2, 1]
