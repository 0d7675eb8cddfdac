"""Kill any process at the worst moment: the result is still exact.

Each scenario runs on a fresh stack of its own (real broker, real database, services as separate
processes; storage in files, or in SeaweedFS over S3 for the processor and S3 server kills),
processes a request of at least 1,000 images served by a test-owned server, kills something
midway, and checks that the request completes with every row exactly once, an output for every
image, exact counters and no truncated file. Each runs twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import MongoClient

from devstack import processes
from devstack.kafka import start_kafka
from devstack.mongodb import start_mongodb
from devstack.seaweedfs import start_seaweedfs
from devstack.settings import LocalS3
from devstack.stack import start_services
from devstack.sync_run import run_sync
from devstack.waiting import wait_until
from imgpipe.contract.topics import RESULTS, ROWS, ROWS_TOPIC
from imgpipe.state.database import REQUESTS, Document
from imgpipe.storage.input_spool import ProductRow
from imgpipe.storage.output_periods import OUTPUTS_PREFIX
from imgpipe.storage.row_producer import RowContext, row_message
from tests.support.backends import needs_local_infrastructure
from tests.support.fault_injection import (
    Catalogue,
    assert_exact_outcome,
    finished_rows,
    kill_hard,
    serve_catalogue,
)
from tests.support.helpers import product_csv, read_csv, read_topic, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer
from tests.support.stack import (
    FAULT_STATE,
    ON_S3,
    TEST_BUCKET,
    RunningStack,
    running_test_stack,
    start_extra_gateway,
)
from tests.support.staged_requests import record_published_request, send_one
from tests.support.stored_state import stored_row_count

pytestmark = pytest.mark.integration

RUNS = [1, 2]


@pytest.fixture
def fault_server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer().running() as server:
        yield server


# The gateway scenario needs a CSV large enough to still be publishing when it is killed.
FAULT_LIMITS = {
    "IMGPIPE_MAX_ROWS": "100000",
    "IMGPIPE_MAX_UPLOAD_BYTES": str(20_000_000),
    # Longer than any outage staged here: recovery must not lean on the repair of stalled
    # requests (a repair, if one happens, is reported as a warning by assert_exact_outcome).
    "IMGPIPE_STALL_SECONDS": "60",
}


def _stack(
    server: LocalHttpServer, processors: int, storage: dict[str, str] | None = None
) -> Iterator[RunningStack]:
    allowlist = f"127.0.0.1:{server.port}"
    with running_test_stack(processors, allowlist, FAULT_STATE, {**FAULT_LIMITS, **(storage or {})}) as stack:
        yield stack


@pytest.fixture
def one_processor(fault_server: LocalHttpServer) -> Iterator[RunningStack]:
    yield from _stack(fault_server, 1)


@pytest.fixture
def two_processors(fault_server: LocalHttpServer) -> Iterator[RunningStack]:
    yield from _stack(fault_server, 2)


@pytest.fixture
def two_processors_on_s3(fault_server: LocalHttpServer) -> Iterator[RunningStack]:
    """Storage in SeaweedFS: images, input and output CSVs all go through S3."""
    yield from _stack(fault_server, 2, ON_S3)


@pytest.fixture
def fault_mongo(two_processors: RunningStack) -> Iterator[MongoClient[Document]]:
    client: MongoClient[Document] = MongoClient(two_processors.settings.mongodb_url)
    yield client
    client.close()


def _start(
    stack: RunningStack, server: LocalHttpServer, run: int, delay_s: float = 0.1
) -> tuple[str, Catalogue]:
    catalogue = serve_catalogue(server, f"run{run}", rows=500, images_per_row=2, delay_s=delay_s)
    response = upload(stack.base_url, product_csv(catalogue.rows))
    assert response.status_code == 202, response.text
    return response.json()["request_id"], catalogue


def _wait_midway(stack: RunningStack, request_id: str) -> None:
    """Until some rows are finished and most are not: the worst moment to die."""
    wait_until(lambda: finished_rows(stack, request_id) >= 50, 120, "the first 50 rows", interval_s=0.05)
    assert finished_rows(stack, request_id) < 400, "too late to call it midway"


def _assert_no_orphan_images(stack: RunningStack, request_id: str) -> None:
    """Rows processed twice stored their images under the same content names (or found them
    stored): every image in storage is one the output CSV names. (File storage: a put cut short
    by the kill can leave only a hidden temporary file, never a `.jpg`.)"""
    table = read_csv(httpx.get(f"{stack.base_url}/download/{request_id}", timeout=60).text)
    referenced = {url.rsplit("/", 1)[1] for cells in table[1:] for url in cells[3].split(",") if url}
    images = Path(stack.settings.storage_url.removeprefix("file://")) / OUTPUTS_PREFIX
    assert {path.name for path in images.rglob("*.jpg")} == referenced


def _assert_a_small_request_goes_first(
    stack: RunningStack, server: LocalHttpServer, request_id: str, catalogue: Catalogue
) -> None:
    """Fair sharing holds again after the crash: a one-image request uploaded now finishes while
    the batch still has rows to do, instead of waiting for all of them."""
    small = serve_catalogue(server, f"small-{request_id}", rows=1, images_per_row=1, delay_s=0.0)
    response = upload(stack.base_url, product_csv(small.rows))
    assert response.status_code == 202, response.text
    assert wait_finished(stack.base_url, response.json()["request_id"])["status"] == "completed"
    assert finished_rows(stack, request_id) < len(catalogue.rows)


def _assert_unavailable(stack: RunningStack, dependency: str) -> None:
    """While `dependency` is down: readiness names it, and an upload is refused with 503, not 500."""
    readiness = httpx.get(f"{stack.base_url}/readyz", timeout=30)
    assert readiness.status_code == 503
    assert readiness.json()["dependencies"][dependency].startswith("unavailable")
    refused = upload(stack.base_url, product_csv([("1", "Waits", ["https://example.com/a.jpg"])]))
    assert refused.status_code == 503
    assert refused.json()["error"] == "dependency_unavailable"


@pytest.mark.parametrize("run", RUNS)
def test_kill_one_of_two_processors(
    two_processors_on_s3: RunningStack, fault_server: LocalHttpServer, run: int
) -> None:
    stack = two_processors_on_s3
    request_id, catalogue = _start(stack, fault_server, run)
    _wait_midway(stack, request_id)
    kill_hard(stack.paths, "processor-2")
    _assert_a_small_request_goes_first(stack, fault_server, request_id, catalogue)
    assert_exact_outcome(stack, request_id, catalogue)


@needs_local_infrastructure
@pytest.mark.parametrize("run", RUNS)
def test_kill_the_s3_server_then_restart_it_on_its_data(
    two_processors_on_s3: RunningStack, fault_server: LocalHttpServer, run: int
) -> None:
    """Processors waiting to store images, the aggregator to write the CSV: they wait and retry."""
    stack = two_processors_on_s3
    request_id, catalogue = _start(stack, fault_server, run)
    _wait_midway(stack, request_id)
    kill_hard(stack.paths, "seaweedfs")
    _assert_unavailable(stack, "storage")
    time.sleep(2)  # long enough for every worker to hit the outage
    start_seaweedfs(stack.paths, LocalS3(stack.ports.s3, TEST_BUCKET))
    assert_exact_outcome(stack, request_id, catalogue)


@pytest.mark.parametrize("run", RUNS)
def test_kill_the_only_processor_then_start_another(
    one_processor: RunningStack, fault_server: LocalHttpServer, run: int
) -> None:
    request_id, catalogue = _start(one_processor, fault_server, run, delay_s=0.05)
    _wait_midway(one_processor, request_id)
    kill_hard(one_processor.paths, "processor-1")
    time.sleep(1)
    start_services(one_processor.settings, one_processor.paths, processor_count=1)
    assert_exact_outcome(one_processor, request_id, catalogue)
    _assert_no_orphan_images(one_processor, request_id)


@pytest.mark.parametrize("run", RUNS)
def test_kill_the_aggregator_then_restart_it(
    two_processors: RunningStack, fault_server: LocalHttpServer, run: int
) -> None:
    request_id, catalogue = _start(two_processors, fault_server, run)
    _wait_midway(two_processors, request_id)
    kill_hard(two_processors.paths, "aggregator")
    time.sleep(1)
    start_services(two_processors.settings, two_processors.paths, processor_count=2)
    assert_exact_outcome(two_processors, request_id, catalogue)


@needs_local_infrastructure
@pytest.mark.parametrize("run", RUNS)
def test_kill_the_broker_then_restart_it_on_its_data(
    two_processors: RunningStack, fault_server: LocalHttpServer, run: int
) -> None:
    request_id, catalogue = _start(two_processors, fault_server, run)
    _wait_midway(two_processors, request_id)
    kill_hard(two_processors.paths, "kafka")
    _assert_unavailable(two_processors, "kafka")
    start_kafka(two_processors.paths, two_processors.ports.kafka)
    _assert_a_small_request_goes_first(two_processors, fault_server, request_id, catalogue)
    assert_exact_outcome(two_processors, request_id, catalogue)


@needs_local_infrastructure
@pytest.mark.parametrize("run", RUNS)
def test_kill_the_database_then_restart_it_on_its_data_a_while_later(
    two_processors: RunningStack, fault_server: LocalHttpServer, run: int
) -> None:
    request_id, catalogue = _start(two_processors, fault_server, run)
    _wait_midway(two_processors, request_id)
    kill_hard(two_processors.paths, "mongodb")
    started = time.monotonic()
    _assert_unavailable(two_processors, "mongodb")
    time.sleep(max(0.0, 4 - (time.monotonic() - started)))
    start_mongodb(two_processors.paths, two_processors.ports.mongodb)
    assert_exact_outcome(two_processors, request_id, catalogue)


@pytest.mark.parametrize("run", RUNS)
def test_scale_processors_out_and_in_midway(
    two_processors: RunningStack, fault_server: LocalHttpServer, run: int
) -> None:
    """Workers joining and leaving rebalance the group while rows are in flight: nothing is lost."""
    request_id, catalogue = _start(two_processors, fault_server, run)
    _wait_midway(two_processors, request_id)
    for processor_count, more_rows in ((3, 60), (1, 60), (2, 0)):
        target = finished_rows(two_processors, request_id) + more_rows
        start_services(two_processors.settings, two_processors.paths, processor_count)
        wait_until(
            lambda target=target: finished_rows(two_processors, request_id) >= target,
            120,
            f"{more_rows} more rows with {processor_count} processor(s)",
        )
    assert_exact_outcome(two_processors, request_id, catalogue)


async def _upload_then_kill_the_gateway_once_rows_flow(stack: RunningStack, catalogue: Catalogue) -> str:
    """Upload, wait until the gateway's first rows reach the rows topic, and kill it at once:
    publishing 6,000 rows takes a few hundred milliseconds, so this lands in the middle, where a
    fixed delay after the upload could land before publishing started on a loaded machine."""
    rows_topic = [TopicPartition(ROWS, partition) for partition in range(stack.settings.rows_partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.settings.kafka_bootstrap_servers)
    await consumer.start()
    try:

        async def rows_on_topic() -> int:
            return sum((await consumer.end_offsets(rows_topic)).values())

        before = await rows_on_topic()
        response = await asyncio.to_thread(upload, stack.base_url, product_csv(catalogue.rows))
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 30
        while await rows_on_topic() == before:
            assert time.monotonic() < deadline, "the gateway published no row within 30 s"
            await asyncio.sleep(0.005)
        kill_hard(stack.paths, "gateway")
    finally:
        await consumer.stop()
    request_id: str = response.json()["request_id"]
    return request_id


@pytest.mark.parametrize("run", RUNS)
def test_kill_the_gateway_while_it_publishes(
    two_processors: RunningStack, fault_server: LocalHttpServer, fault_mongo: MongoClient[Document], run: int
) -> None:
    catalogue = serve_catalogue(fault_server, f"big{run}", rows=6_000, images_per_row=1, delay_s=0.0)
    request_id = run_sync(_upload_then_kill_the_gateway_once_rows_flow(two_processors, catalogue))
    db = fault_mongo[two_processors.settings.mongodb_database]
    checkpoint = db.publishing.find_one({"_id": request_id})
    assert checkpoint is not None and not checkpoint["done"], "publishing finished before the kill"
    start_services(two_processors.settings, two_processors.paths, processor_count=2)
    assert_exact_outcome(two_processors, request_id, catalogue)


def test_kill_a_gateway_mid_batch_and_another_takes_over_its_paced_publishing(
    two_processors: RunningStack, fault_server: LocalHttpServer, fault_mongo: MongoClient[Document]
) -> None:
    """Rows are published at the pace they finish (gateway/publishing/fair_scheduler.py), so a batch is
    still being published long after its upload. Its gateway dies: the other gateway claims the
    batch once the lease runs out, goes on publishing it paced, and a new request uploaded there
    is still served before the batch."""
    second = start_extra_gateway(two_processors, "gateway-b", {})
    # About 80 rows a second (16 working slots, 0.2 s a fetch): the batch outlasts the lease.
    catalogue = serve_catalogue(fault_server, "paced", rows=2_000, images_per_row=1, delay_s=0.2)
    response = upload(two_processors.base_url, product_csv(catalogue.rows))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    wait_until(lambda: finished_rows(two_processors, request_id) >= 100, 120, "the first 100 rows")
    kill_hard(two_processors.paths, "gateway")
    publishing = fault_mongo[two_processors.settings.mongodb_database].publishing
    wait_until(
        lambda: (publishing.find_one({"_id": request_id}) or {}).get("takeovers", 0) >= 1,
        60,
        "the other gateway taking the batch over",
    )
    small = serve_catalogue(fault_server, "after-takeover", rows=1, images_per_row=1, delay_s=0.0)
    small_id = upload(second, product_csv(small.rows)).json()["request_id"]
    assert wait_finished(second, small_id)["status"] == "completed"
    assert finished_rows(two_processors, request_id) < len(catalogue.rows) // 2
    start_services(two_processors.settings, two_processors.paths, processor_count=2)
    assert_exact_outcome(two_processors, request_id, catalogue)
    processes.stop(two_processors.paths, "gateway-b")


@pytest.mark.parametrize("run", RUNS)
async def test_sigterm_drains_in_flight_rows_and_commits(
    two_processors: RunningStack, fault_server: LocalHttpServer, run: int
) -> None:
    request_id, catalogue = _start(two_processors, fault_server, run)
    _wait_midway(two_processors, request_id)
    pid = processes.running_pid(two_processors.paths, "processor-2")
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: processes.running_pid(two_processors.paths, "processor-2") is None, 60, "a clean exit")
    assert_exact_outcome(two_processors, request_id, catalogue)
    # Drained and committed: nothing the stopped worker processed was processed again. (The
    # surviving worker may redo some of its own uncommitted rows when the group rebalances;
    # that is at-least-once delivery, absorbed by the aggregator.)
    results = await read_topic(
        two_processors.settings.kafka_bootstrap_servers,
        RESULTS,
        lambda r: r["request_id"] == request_id,
        10**9,
        20,
    )
    workers_by_row: dict[int, list[str]] = {}
    for result in results:
        workers_by_row.setdefault(result["row"], []).append(result["worker_id"])
    redone = {row: workers for row, workers in workers_by_row.items() if "processor-2" in workers[:-1]}
    assert redone == {}, f"rows of the stopped worker processed again: {redone}"
    assert sorted(workers_by_row) == list(range(len(catalogue.rows)))


def test_a_20000_row_request_completes_exactly(
    two_processors: RunningStack, fault_server: LocalHttpServer
) -> None:
    """A catalogue-sized request on the real stack: every row once, in order, with its image."""
    catalogue = serve_catalogue(fault_server, "large", rows=20_000, images_per_row=1, delay_s=0.0)
    response = upload(two_processors.base_url, product_csv(catalogue.rows))
    assert response.status_code == 202, response.text
    assert_exact_outcome(two_processors, response.json()["request_id"], catalogue)


# The expiry's kill: a whole stack keeping requests for seconds.
BRIEF_RETENTION_S = 15.0


@pytest.fixture
def brief_retention(fault_server: LocalHttpServer) -> Iterator[RunningStack]:
    yield from _stack(fault_server, 2, {"IMGPIPE_RETENTION_DAYS": str(BRIEF_RETENTION_S / 86400)})


def _expired_at_stored(mongo: MongoClient[Document], stack: RunningStack, request_id: str) -> bool:
    request = mongo[stack.settings.mongodb_database][REQUESTS.name].find_one({"_id": request_id})
    return request is not None and "expired_at" in request


def test_kill_the_aggregator_while_it_expires_a_request(
    brief_retention: RunningStack, fault_server: LocalHttpServer
) -> None:
    """Killed as it starts deleting a 3,000-row request: the next run finishes the deletion, and the
    output a request in flight shares with it stays."""
    stack = brief_retention
    catalogue = serve_catalogue(fault_server, "expiring", rows=3000, images_per_row=1, delay_s=0.0)
    response = upload(stack.base_url, product_csv(catalogue.rows))
    assert response.status_code == 202, response.text
    expiring = response.json()["request_id"]
    assert wait_finished(stack.base_url, expiring, timeout_s=300)["status"] == "completed"
    shared_url = catalogue.rows[0][2][0]
    shared_bytes = httpx.get(_row_outputs(stack, expiring, 0)[0], timeout=30).content

    # In flight while the other expires: its first row uses the shared image, its second waits
    # for the repair (IMGPIPE_STALL_SECONDS, 60 s here).
    live = str(uuid.uuid4())
    products = [ProductRow("1", "Shared", (shared_url,)), ProductRow("2", "Late", (catalogue.rows[1][2][0],))]
    record_published_request(stack, live, products, retention_s=BRIEF_RETENTION_S)
    value, key = ROWS_TOPIC.encode(
        row_message(live, 0, products[0], RowContext(50, None, retention_s=BRIEF_RETENTION_S))
    )
    assert key is not None
    asyncio.run(send_one(stack, ROWS, value, key))
    wait_until(lambda: finished_rows(stack, live) == 1, 60, "the request in flight's first row")

    mongo: MongoClient[Document] = MongoClient(stack.settings.mongodb_url, tz_aware=True)
    try:
        wait_until(
            lambda: _expired_at_stored(mongo, stack, expiring), 120, "the expiry to start", interval_s=0.02
        )
        kill_hard(stack.paths, "aggregator")
        start_services(stack.settings, stack.paths, processor_count=2)
        wait_until(
            lambda: httpx.get(f"{stack.base_url}/status/{expiring}", timeout=30).status_code == 410,
            120,
            "the expiry",
        )
        # The next run finishes the deletion: not one of its rows or objects is left.
        rows = len(catalogue.rows)
        wait_until(lambda: stored_row_count(stack.settings, expiring, rows) == 0, 120, "its rows to go")
        wait_until(lambda: not (_storage_root(stack) / expiring).exists(), 60, "its objects to go")
        # The request in flight still has the output it shares, byte for byte.
        assert httpx.get(_row_outputs(stack, live, 0)[0], timeout=30).content == shared_bytes
    finally:
        mongo.close()


def _storage_root(stack: RunningStack) -> Path:
    return Path(stack.settings.storage_url.removeprefix("file://"))


def _row_outputs(stack: RunningStack, request_id: str, row: int) -> list[str]:
    page = httpx.get(
        f"{stack.base_url}/status/{request_id}",
        params={"rows": "true", "offset": row, "limit": 1},
        timeout=30,
    ).json()
    return [image["output_url"] for image in page["row_details"][0]["images"]]
