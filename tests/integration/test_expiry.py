"""Retention on the real stack, on both storage backends: a finished request past its retention is
deleted with everything only it stored and answers 410, outputs shared with a live request stay
until it expires too, and a request that is still being worked on is reported, never deleted.

Two extra gateways share one API key: one whose keys file keeps that key's requests for seconds,
one that keeps them for the default 30 days.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from devstack import processes
from devstack.waiting import wait_until
from imgpipe.contract.topics import EVENTS, ROWS, ROWS_TOPIC
from imgpipe.state.database import (
    EXPIRY_QUEUE,
    PUBLISHING,
    REQUEST_STATES,
    REQUESTS,
    ROW_CHUNKS,
    ROW_OUTCOMES,
    UNFINISHED_REQUESTS,
    Document,
    connect,
    database,
)
from imgpipe.state.numbered_slots import first_free_slot, slot_id, take_slot, taken_slots
from imgpipe.storage.factory import open_storage
from imgpipe.storage.input_spool import ProductRow
from imgpipe.storage.output_periods import OUTPUTS_PREFIX
from imgpipe.storage.row_producer import RowContext, row_message
from tests.support.helpers import product_csv, read_csv, read_topic, stored_key, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack, start_extra_gateway
from tests.support.staged_requests import record_published_request, send_one
from tests.support.worker_metrics import scrape, value, worker_urls

KEY = "key-retention-test"
HEADERS = {"X-API-Key": KEY}
RETENTION_S = 12.0
# Expiry runs every 10 s on buckets settled for 20 s: a request goes within about 40 s of its time.
EXPIRY_TIMEOUT_S = RETENTION_S + 90


def _keys_file(path: Path, retention_days: float | None) -> Path:
    retention = "" if retention_days is None else f"retention_days = {retention_days!r}\n"
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    path.write_text(f'[[keys]]\nname = "retention-test"\nsha256 = "{digest}"\n{retention}')
    return path


@pytest.fixture(scope="module", params=["stack", "s3_stack"])
def backend(request: pytest.FixtureRequest) -> RunningStack:
    stack: RunningStack = request.getfixturevalue(request.param)
    return stack


@pytest.fixture(scope="module")
def gateways(backend: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(brief, lasting): the URLs of a gateway keeping the key's requests RETENTION_S, and of one
    keeping them the default 30 days."""
    folder = tmp_path_factory.mktemp("retention")
    brief = start_extra_gateway(
        backend,
        "gateway-brief",
        {"IMGPIPE_API_KEYS_FILE": str(_keys_file(folder / "brief.toml", RETENTION_S / 86400))},
    )
    lasting = start_extra_gateway(
        backend, "gateway-lasting", {"IMGPIPE_API_KEYS_FILE": str(_keys_file(folder / "lasting.toml", None))}
    )
    yield brief, lasting
    for name in ("gateway-brief", "gateway-lasting"):
        processes.stop(backend.paths, name)


def _finished(base_url: str, csv_text: str) -> tuple[str, dict[str, Any]]:
    response = upload(base_url, csv_text, headers=HEADERS)
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    return request_id, wait_finished(base_url, request_id, headers=HEADERS)


def _output_urls(base_url: str, request_id: str) -> list[str]:
    rows = httpx.get(
        f"{base_url}/status/{request_id}", params={"rows": "true"}, headers=HEADERS, timeout=30
    ).json()["row_details"]
    return [image["output_url"] for row in rows for image in row["images"]]


def _row_images(base_url: str, request_id: str, row: int) -> list[dict[str, Any]]:
    rows = httpx.get(
        f"{base_url}/status/{request_id}", params={"rows": "true"}, headers=HEADERS, timeout=30
    ).json()["row_details"]
    images: list[dict[str, Any]] = rows[row]["images"]
    return images


def _stored_periods(stack: RunningStack) -> list[str]:
    """Every output period's prefix the storage holds, of every retention."""
    storage = open_storage(stack.settings.storage, stack.settings.base_url)

    async def listing() -> list[str]:
        return [
            prefix
            for retention in await storage.child_prefixes(OUTPUTS_PREFIX)
            for prefix in await storage.child_prefixes(retention)
        ]

    return asyncio.run(listing())


def _answer(base_url: str, path: str) -> httpx.Response:
    return httpx.get(f"{base_url}{path}", headers=HEADERS, timeout=30)


def _stored_documents(stack: RunningStack, request_id: str, rows: int) -> dict[str, int]:
    """How many of the request's own documents each collection still holds, read by `_id`."""
    client: MongoClient[Document] = MongoClient(stack.settings.mongodb_url, tz_aware=True)
    try:
        db = client[stack.settings.mongodb_database]
        ids = {
            REQUEST_STATES.name: [f"{request_id}#{version}" for version in range(5)],
            ROW_OUTCOMES.name: [f"{request_id}:{row}" for row in range(rows)],
            ROW_CHUNKS.name: [f"{request_id}/0"],
            PUBLISHING.name: [request_id],
            UNFINISHED_REQUESTS.name: [request_id],
        }
        return {
            name: sum(db[name].find_one({"_id": each}) is not None for each in names)
            for name, names in ids.items()
        }
    finally:
        client.close()


def _request_document(stack: RunningStack, request_id: str) -> Document | None:
    client: MongoClient[Document] = MongoClient(stack.settings.mongodb_url, tz_aware=True)
    try:
        return client[stack.settings.mongodb_database][REQUESTS.name].find_one({"_id": request_id})
    finally:
        client.close()


def _stored_objects(stack: RunningStack, request_id: str) -> int:
    storage = open_storage(stack.settings.storage, stack.settings.base_url)

    async def count() -> int:
        keys = ("input.csv", "input.csv.index", "output.csv")
        return sum([await storage.exists(f"{request_id}/{key}") for key in keys])

    return asyncio.run(count())


def _status(base_url: str, request_id: str) -> dict[str, Any]:
    response = _answer(base_url, f"/status/{request_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_each_key_keeps_its_requests_for_its_own_retention(
    gateways: tuple[str, str], image_server: LocalHttpServer
) -> None:
    brief, lasting = gateways
    url = image_server.add(
        f"/expiry/{uuid.uuid4().hex[:8]}/kept.jpg", Resource(photo_like_image(32, 24, 10), "image/jpeg")
    )
    for base_url, retention in ((brief, timedelta(seconds=RETENTION_S)), (lasting, timedelta(days=30))):
        _, status = _finished(base_url, product_csv([("1", "Kept", [url])]))
        assert (
            datetime.fromisoformat(status["expires_at"]) - datetime.fromisoformat(status["completed_at"])
            == retention
        )


def test_an_expired_request_is_deleted_answers_410_and_leaves_shared_outputs_to_a_live_one(
    backend: RunningStack, gateways: tuple[str, str], image_server: LocalHttpServer
) -> None:
    brief, _ = gateways
    tag = uuid.uuid4().hex[:8]
    shared = image_server.add(
        f"/expiry/{tag}/shared.jpg", Resource(photo_like_image(64, 48, 11), "image/jpeg")
    )
    own = image_server.add(f"/expiry/{tag}/own.jpg", Resource(photo_like_image(48, 64, 12), "image/jpeg"))
    late = image_server.add(f"/expiry/{tag}/late.jpg", Resource(photo_like_image(40, 40, 14), "image/jpeg"))

    expiring, status = _finished(brief, product_csv([("1", "Shared", [shared]), ("2", "Own", [own])]))
    shared_output, own_output = _output_urls(brief, expiring)
    shared_bytes = httpx.get(shared_output, timeout=30).content
    assert _stored_objects(backend, expiring) == 3

    # A second request of the same owner and retention uses the shared image, and stays
    # unfinished meanwhile: its second row is not published until the repair does it
    # (IMGPIPE_STALL_SECONDS, 30 s here).
    live = str(uuid.uuid4())
    products = [ProductRow("1", "Shared again", (shared,)), ProductRow("2", "Late", (late,))]
    owner = hashlib.sha256(KEY.encode()).hexdigest()[:16]
    record_published_request(backend, live, products, retention_s=RETENTION_S, owner=owner)
    first_row = row_message(live, 0, products[0], RowContext(50, owner, retention_s=RETENTION_S))
    value, key = ROWS_TOPIC.encode(first_row)
    assert key is not None
    asyncio.run(send_one(backend, ROWS, value, key))
    wait_until(lambda: _status(brief, live)["rows"]["done"] == 1, 60, "the live request's first row")

    # The completion event says when, for downstream consumers.
    events = asyncio.run(
        read_topic(backend.settings.kafka_bootstrap_servers, EVENTS, lambda e: e["request_id"] == expiring, 1)
    )
    assert datetime.fromisoformat(events[0]["expires_at"]) == datetime.fromisoformat(status["expires_at"])

    wait_until(
        lambda: _answer(brief, f"/status/{expiring}").status_code == 410, EXPIRY_TIMEOUT_S, "the expiry"
    )
    gone = _answer(brief, f"/status/{expiring}").json()
    assert gone["error"] == "expired"
    assert datetime.fromisoformat(gone["expired_at"]) >= datetime.fromisoformat(status["expires_at"])
    assert _answer(brief, f"/download/{expiring}").status_code == 410
    assert _answer(brief, f"/status/{expiring}/events").status_code == 410

    # Everything only it stored is gone, read by `_id` and by key: states, rows, chunk, checkpoint,
    # input CSV and its index, output CSV.
    assert _stored_documents(backend, expiring, rows=2) == dict.fromkeys(
        [REQUEST_STATES.name, ROW_OUTCOMES.name, ROW_CHUNKS.name, PUBLISHING.name, UNFINISHED_REQUESTS.name],
        0,
    )
    assert _stored_objects(backend, expiring) == 0

    # The live request, still unfinished, keeps the output it shares.
    [live_shared] = [image["output_url"] for image in _row_images(brief, live, 0)]
    assert httpx.get(live_shared, timeout=30).content == shared_bytes

    # Once it finishes, every image it has downloads, the shared one byte for byte.
    assert wait_finished(brief, live, timeout_s=120, headers=HEADERS)["status"] == "completed"
    table = read_csv(_answer(brief, f"/download/{live}").text)
    assert httpx.get(table[1][3], timeout=30).content == shared_bytes
    assert httpx.get(table[2][3], timeout=30).content[:2] == b"\xff\xd8"

    # Once no request can use the expiring one's outputs, their period goes too: its URLs answer
    # 410, and nothing of it is left in storage.
    wait_until(
        lambda: httpx.get(own_output, timeout=30).status_code == 410,
        EXPIRY_TIMEOUT_S + 60,
        "the outputs' expiry",
    )
    assert httpx.get(own_output, timeout=30).json()["error"] == "expired"
    assert stored_key(own_output).rsplit("/", 2)[0] not in _stored_periods(backend)

    # A retention after it expired, its tombstone goes too: the id is then unknown.
    wait_until(
        lambda: _request_document(backend, expiring) is None,
        EXPIRY_TIMEOUT_S,
        "the tombstone to be forgotten",
    )
    assert _answer(brief, f"/status/{expiring}").status_code == 404


def test_a_request_unfinished_past_its_retention_is_reported_and_kept_until_it_finishes(
    backend: RunningStack, image_server: LocalHttpServer
) -> None:
    # Recorded as published while no row is: it stays unfinished until the repair publishes its
    # rows (IMGPIPE_STALL_SECONDS, 30 s here), far past its one-second retention.
    url = image_server.add(
        f"/expiry/{uuid.uuid4().hex[:8]}/late.jpg", Resource(photo_like_image(40, 30, 13), "image/jpeg")
    )
    request_id = str(uuid.uuid4())
    record_published_request(backend, request_id, [ProductRow("1", "Late", (url,))], retention_s=1.0)
    metrics = worker_urls(backend)["aggregator"]

    wait_until(
        lambda: value(scrape(metrics), "imgpipe_requests_stuck") >= 1, 25, "the stuck request reported"
    )
    assert httpx.get(f"{backend.base_url}/status/{request_id}", timeout=30).json()["status"] != "completed"
    log = (backend.paths.logs / "aggregator.log").read_text()
    assert f"request {request_id} is unfinished" in log

    # Once finished, it is kept its one second, then expires like any other.
    assert wait_finished(backend.base_url, request_id, timeout_s=120)["status"] == "completed"
    wait_until(
        lambda: httpx.get(f"{backend.base_url}/status/{request_id}", timeout=30).status_code == 410,
        EXPIRY_TIMEOUT_S,
        "the expiry",
    )
    wait_until(lambda: value(scrape(metrics), "imgpipe_requests_stuck") == 0, 30, "the report to clear")


async def test_the_first_free_slot_is_found_in_a_few_reads_however_many_are_taken(
    stack: RunningStack,
) -> None:
    client = connect(stack.settings.database)
    try:
        queue = EXPIRY_QUEUE.of(database(client, stack.settings.database))
        prefix = f"test-slots-{uuid.uuid4().hex}"
        await queue.insert_many(
            [{"_id": slot_id(prefix, n), "request_id": "r", "due": "expire"} for n in range(37)]
        )
        assert await first_free_slot(queue, prefix) == 37
        assert await first_free_slot(queue, prefix, known_taken=20) == 37
        assert await first_free_slot(queue, f"{prefix}-empty") == 0
        assert await take_slot(queue, prefix, 37, {"request_id": "s", "due": "expire"}) == 37
        assert [n async for n, _ in taken_slots(queue, prefix)] == list(range(38))
    finally:
        await client.close()
