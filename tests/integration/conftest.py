from __future__ import annotations

import socket
from collections.abc import Generator, Iterator

import pytest
from pymongo import MongoClient

from devstack import processes
from imgpipe.state.database import Document
from tests.support.diagnostics import notable_log_lines
from tests.support.local_http_server import LocalHttpServer
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
