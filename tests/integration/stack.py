"""The test suite's own imgpipe stack: real Kafka, real MongoDB wire protocol, real services.

It uses its own state directory and ports, so it never disturbs a stack started with `make up`.
Kafka and the database are provisioned by devstack exactly as `make up` does, or started as
containers by testcontainers (tests/integration/backends.py).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack import processes
from devstack.consumer_groups import PROCESSORS_GROUP, stable_group_members
from devstack.paths import IMGPIPE_COMMAND, ROOT, StackPaths
from devstack.stack import down, gateway_answers, service_dir, start_infrastructure, start_services
from devstack.waiting import wait_until
from imgpipe.settings import Settings
from tests.integration.backends import infrastructure_settings
from tests.integration.sync_run import run_sync

WEBHOOK_SECRET = "test-webhook-secret"


@dataclass(frozen=True)
class StackLayout:
    """Where one test stack lives; each layout can run beside the others and beside `make up`."""

    state_dir: Path
    kafka_port: int
    mongodb_port: int
    gateway_port: int
    s3_port: int  # SeaweedFS, when the stack's storage is S3 (it takes the seven ports after it too)


MAIN_LAYOUT = StackLayout(ROOT / ".local" / "test-stack", 19092, 37017, 18000, 18333)
FAULT_LAYOUT = StackLayout(ROOT / ".local" / "fault-stack", 29092, 47017, 28000, 28333)
# The stack whose storage is S3: beside the main one, on ports of its own.
S3_LAYOUT = StackLayout(ROOT / ".local" / "s3-test-stack", 16092, 16017, 16000, 16333)

TEST_BUCKET = "imgpipe-test"
# Settings that put a test stack's storage on S3: the local SeaweedFS, provisioned by devstack.
ON_S3 = {"IMGPIPE_STORAGE_URL": f"s3://{TEST_BUCKET}"}


@dataclass(frozen=True)
class RunningStack:
    settings: Settings
    base_url: str
    paths: StackPaths
    environment: dict[str, str]  # what its services were started with


def _test_environment(layout: StackLayout, fetch_allowlist: str) -> dict[str, str]:
    return {
        "IMGPIPE_STATE_DIR": str(layout.state_dir),
        "IMGPIPE_LOCAL_KAFKA_PORT": str(layout.kafka_port),
        "IMGPIPE_LOCAL_MONGODB_PORT": str(layout.mongodb_port),
        "IMGPIPE_PORT": str(layout.gateway_port),
        "IMGPIPE_STORAGE_URL": f"file://{layout.state_dir / 'processed_images'}",
        "IMGPIPE_LOCAL_S3_PORT": str(layout.s3_port),
        # The test servers listen on loopback, which fetching refuses unless allowlisted.
        "IMGPIPE_FETCH_ALLOWLIST": fetch_allowlist,
        # Limits small enough that tests can cross them cheaply.
        "IMGPIPE_MAX_UPLOAD_BYTES": str(2_000_000),
        "IMGPIPE_MAX_ROWS": "5000",
        "IMGPIPE_MAX_IMAGE_BYTES": str(1_000_000),
        "IMGPIPE_FETCH_TIMEOUT_S": "3",
        "IMGPIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "IMGPIPE_WEBHOOK_RETRY_BASE_S": "0.05",
        # Stalled requests are repaired after this long: short enough for the repair test, yet
        # longer than the slowest legitimate row here (a fetch timing out 4 times, about 15 s),
        # or that row would be published again while still in flight.
        "IMGPIPE_STALL_SECONDS": "30",
        # A database of its own per run: an external MONGODB_URL is never polluted.
        "IMGPIPE_MONGODB_DATABASE": f"imgpipe_test_{uuid.uuid4().hex[:8]}",
        "IMGPIPE_LOG_LEVEL": "INFO",
        # Every service logs its database accesses' shapes, for test_access_shapes.py.
        "IMGPIPE_LOG_DATABASE_COMMANDS": "true",
    }


@contextmanager
def running_test_stack(
    processor_count: int,
    fetch_allowlist: str,
    layout: StackLayout = MAIN_LAYOUT,
    overrides: dict[str, str] | None = None,
) -> Iterator[RunningStack]:
    """A fresh stack (state wiped) in `layout`; its settings are in os.environ while it runs.
    Kafka and the database are local processes or containers, as IMGPIPE_TEST_BACKEND says."""
    with infrastructure_settings() as infrastructure:
        settings = {**infrastructure, **(overrides or {})}
        with _running_stack(processor_count, fetch_allowlist, layout, settings) as stack:
            yield stack


@contextmanager
def _running_stack(
    processor_count: int, fetch_allowlist: str, layout: StackLayout, overrides: dict[str, str]
) -> Iterator[RunningStack]:
    saved = dict(os.environ)
    os.environ.update({**_test_environment(layout, fetch_allowlist), **overrides})
    settings = Settings()
    down(settings)  # whatever an interrupted earlier run left running in this layout
    shutil.rmtree(layout.state_dir, ignore_errors=True)
    paths = StackPaths(settings.state_dir)
    try:
        try:
            start_infrastructure(settings, paths)
            base_url = start_services(settings, paths, processor_count)
        except SystemExit as error:
            # devstack exits with a message for `make up`; in a test that must be a plain failure,
            # or pytest stops treating the following tests normally.
            raise RuntimeError(f"the test stack did not start: {error}") from None
        bootstrap = settings.kafka_bootstrap
        wait_until(
            lambda: run_sync(stable_group_members(bootstrap, PROCESSORS_GROUP)) == processor_count,
            60,
            f"{processor_count} processor(s) settled in their consumer group",
        )
        yield RunningStack(settings, base_url, paths, dict(os.environ))
    finally:
        down(settings)
        os.environ.clear()
        os.environ.update(saved)


def start_extra_gateway(stack: RunningStack, name: str, port: int, overrides: dict[str, str]) -> str:
    """Another gateway process beside the stack's, with some settings changed; returns its URL."""
    # Not os.environ: with several stacks running, it holds the settings of the latest one.
    env = {**stack.environment, "IMGPIPE_PORT": str(port), **overrides}
    cwd = service_dir(stack.settings, stack.paths, name)
    processes.start(stack.paths, name, [str(IMGPIPE_COMMAND), "gateway"], env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: gateway_answers(url), 60, f"{name} on {url}")
    return url
