"""The test suite's own imgpipe stacks: real Kafka, real MongoDB wire protocol, real services.

Each is a throwaway stack (devstack/throwaway.py) with a state directory of its own and free
ports, so it never disturbs a stack started with `make up`, nor another test stack. Kafka and
the database are provisioned by devstack exactly as `make up` does, or started as containers by
testcontainers (tests/support/backends.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack import processes
from devstack.paths import IMGPIPE_COMMAND, ROOT
from devstack.ports import free_port_block
from devstack.stack import gateway_answers, service_dir
from devstack.throwaway import ThrowawayStack, running_throwaway_stack
from devstack.waiting import wait_until
from tests.support.backends import infrastructure_settings

# What the tests' fixtures receive: the stack's settings, paths, ports, URL and environment.
RunningStack = ThrowawayStack

MAIN_STATE = ROOT / ".local" / "test-stack"
FAULT_STATE = ROOT / ".local" / "fault-stack"
# The stack whose storage is S3: beside the main one.
S3_STATE = ROOT / ".local" / "s3-test-stack"

WEBHOOK_SECRET = "test-webhook-secret"
TEST_BUCKET = "imgpipe-test"
# Settings that put a test stack's storage on S3: the local SeaweedFS, provisioned by devstack.
ON_S3 = {"IMGPIPE_STORAGE_URL": f"s3://{TEST_BUCKET}"}


def _test_environment(state_dir: Path, fetch_allowlist: str) -> dict[str, str]:
    return {
        "IMGPIPE_STORAGE_URL": f"file://{state_dir / 'processed_images'}",
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
    state_dir: Path = MAIN_STATE,
    overrides: dict[str, str] | None = None,
) -> Iterator[RunningStack]:
    """A fresh stack (state wiped) in `state_dir`; its settings are in os.environ while it runs.
    Kafka and the database are local processes or containers, as IMGPIPE_TEST_BACKEND says."""
    with infrastructure_settings() as infrastructure:
        environment = {
            **_test_environment(state_dir, fetch_allowlist),
            **infrastructure,
            **(overrides or {}),
        }
        try:
            with running_throwaway_stack(state_dir, processor_count, environment) as stack:
                yield stack
        except SystemExit as error:
            # devstack exits with a message for `make up`; in a test that must be a plain failure,
            # or pytest stops treating the following tests normally.
            raise RuntimeError(f"the test stack did not start: {error}") from None


def start_extra_gateway(stack: RunningStack, name: str, overrides: dict[str, str]) -> str:
    """Another gateway process beside the stack's, on a free port, with some settings changed;
    returns its URL."""
    port = free_port_block(1)
    # Not os.environ: with several stacks running, it holds the settings of the latest one.
    env = {**stack.environment, "IMGPIPE_PORT": str(port), **overrides}
    cwd = service_dir(stack.settings, stack.paths, name)
    processes.start(stack.paths, name, [str(IMGPIPE_COMMAND), "gateway"], env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: gateway_answers(url), 60, f"{name} on {url}")
    return url
