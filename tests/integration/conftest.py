from __future__ import annotations

import socket
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from devstack import processes
from devstack.paths import StackPaths
from devstack.ports import free_port_block
from devstack.seaweedfs import start_seaweedfs
from devstack.settings import LOCAL_S3_ACCESS_KEY_ID, LOCAL_S3_SECRET_ACCESS_KEY, LocalS3
from imgpipe.config.settings import Settings
from imgpipe.state.database import Document
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.file import FileStorage
from tests.support.diagnostics import notable_log_lines
from tests.support.local_http_server import LocalHttpServer
from tests.support.object_stores import GATEWAY, STORE_TESTS_BUCKET, s3_storage
from tests.support.stack import ON_S3, S3_STATE, RunningStack, running_test_stack, start_extra_gateway


@pytest.fixture(scope="session")
def image_server() -> Iterator[LocalHttpServer]:
    """Serves the test images; allowlisted for fetching."""
    with LocalHttpServer().running() as server:
        yield server


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[LocalHttpServer]:
    """Receives webhook deliveries; allowlisted."""
    with LocalHttpServer().running() as server:
        yield server


@pytest.fixture(scope="session")
def forbidden_server() -> Iterator[LocalHttpServer]:
    """A loopback server that is NOT allowlisted: fetching must never reach it."""
    with LocalHttpServer().running() as server:
        yield server


@pytest.fixture(scope="session")
def closed_port() -> int:
    """An allowlisted loopback port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def stack(
    image_server: LocalHttpServer, webhook_receiver: LocalHttpServer, closed_port: int
) -> Iterator[RunningStack]:
    allowlist = ",".join(
        f"127.0.0.1:{port}" for port in (image_server.port, webhook_receiver.port, closed_port)
    )
    # Two processor workers: the horizontal-scaling test needs both to share the work.
    with running_test_stack(processor_count=2, fetch_allowlist=allowlist) as test_stack:
        yield test_stack


@pytest.fixture(scope="session")
def s3_stack(
    image_server: LocalHttpServer, webhook_receiver: LocalHttpServer, closed_port: int
) -> Iterator[RunningStack]:
    """A second stack whose storage is S3: SeaweedFS provisioned by devstack, each service in a
    working directory of its own."""
    allowlist = ",".join(
        f"127.0.0.1:{port}" for port in (image_server.port, webhook_receiver.port, closed_port)
    )
    with running_test_stack(
        processor_count=2, fetch_allowlist=allowlist, state_dir=S3_STATE, overrides=ON_S3
    ) as s3:
        yield s3


@pytest.fixture(scope="session")
def mongo(stack: RunningStack) -> Iterator[MongoClient[Document]]:
    client: MongoClient[Document] = MongoClient(stack.settings.mongodb_url, tz_aware=True)
    yield client
    client.close()


API_KEYS = ("key-alice", "key-bob")


@pytest.fixture(scope="session")
def keyed_gateway(stack: RunningStack) -> Iterator[str]:
    """A second gateway on the same broker and database, with IMGPIPE_API_KEYS set."""
    url = start_extra_gateway(stack, "gateway-keys", {"IMGPIPE_API_KEYS": ",".join(API_KEYS)})
    yield url
    processes.stop(stack.paths, "gateway-keys")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    """A failed test that ran on a stack shows the notable lines of that stack's service logs."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    stacks = [value for value in getattr(item, "funcargs", {}).values() if isinstance(value, RunningStack)]
    for stack in stacks:
        report.sections.append((f"service logs of {stack.base_url}", notable_log_lines(stack.paths.logs)))


# SeaweedFS's S3 port and the seven after it, for its other parts.
SEAWEEDFS_PORTS = 8


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings that reach a SeaweedFS of the session's own for the storage interface's tests
    (started fresh on free ports, its state in a temporary directory, stopped at the end)."""
    paths = StackPaths(tmp_path_factory.mktemp("store-tests-s3"))
    seaweedfs = LocalS3(free_port_block(SEAWEEDFS_PORTS), STORE_TESTS_BUCKET)
    start_seaweedfs(paths, seaweedfs)
    yield Settings(storage_url=f"s3://{STORE_TESTS_BUCKET}", public_base_url=GATEWAY).model_copy(
        update={
            "s3_endpoint": f"http://127.0.0.1:{seaweedfs.port}",
            "s3_access_key_id": LOCAL_S3_ACCESS_KEY_ID,
            "s3_secret_access_key": LOCAL_S3_SECRET_ACCESS_KEY,
        }
    )
    # Its data is thrown away: no need to wait the 20 s `weed server` takes to stop on SIGTERM.
    processes.stop(paths, "seaweedfs", timeout_s=1)


@pytest.fixture(params=["file", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    """Each backend in turn: a test using this runs once on files and once on SeaweedFS."""
    if request.param == "file":
        return FileStorage(tmp_path / "store", GATEWAY)
    return s3_storage(request.getfixturevalue("seaweedfs"))
