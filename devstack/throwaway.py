"""A throwaway imgpipe stack, started fresh in a state directory of its own: the one the test
suite and the benchmarks run on.

It is provisioned exactly as `make up` provisions the local stack; only the state directory, the
ports (free ones below the ephemeral range, devstack/ports.py) and whatever settings the caller
adds differ. Its broker, database and S3 server are its own unless the caller's settings name
others: never those an enclosing stack (or the shell) put in os.environ. While it runs, its
settings are in os.environ, so that `Settings()` anywhere in the calling process describes it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.consumer_groups import PROCESSORS_GROUP, stable_group_members
from devstack.paths import StackPaths
from devstack.ports import PortInUse, free_port_block
from devstack.settings import LocalPorts, location_variables, point_at_local_servers
from devstack.stack import down, start_infrastructure, start_services
from devstack.sync_run import run_sync
from devstack.waiting import NotReady, wait_until
from imgpipe.config.settings import Settings

# The workers' metrics ports follow the gateway's (devstack.stack.metrics_port): room for them.
_GATEWAY_AND_METRICS_PORTS = 64
# A port taken between the check and the bind shows as a server that never answers: start again
# on other ports, once.
_START_ATTEMPTS = 2
SETTLE_TIMEOUT_S = 90


@dataclass(frozen=True)
class StackPorts:
    """Every port one stack listens on, as one block, so that its parts never overlap."""

    kafka: int  # and the KRaft controller on the next port
    mongodb: int
    s3: int  # SeaweedFS, when the storage is S3; its other parts take the seven ports after it
    gateway: int  # and the workers' metrics ports after it

    @classmethod
    def free_now(cls) -> StackPorts:
        first = free_port_block(2 + 1 + 8 + _GATEWAY_AND_METRICS_PORTS)
        return cls(kafka=first, mongodb=first + 2, s3=first + 3, gateway=first + 11)

    def local_ports(self) -> LocalPorts:
        return LocalPorts(kafka_port=self.kafka, mongodb_port=self.mongodb, s3_port=self.s3)


@dataclass(frozen=True)
class ThrowawayStack:
    settings: Settings
    paths: StackPaths
    ports: StackPorts
    base_url: str
    environment: dict[str, str]  # what its services were started with

    def set_processors(self, count: int) -> None:
        """Run exactly `count` processor workers, and wait until their group has settled."""
        start_services(self.settings, self.paths, count)
        if count:
            wait_for_processors(self.settings, count)


def wait_for_processors(settings: Settings, count: int) -> None:
    bootstrap = settings.kafka_bootstrap_servers
    wait_until(
        lambda: run_sync(stable_group_members(bootstrap, PROCESSORS_GROUP)) == count,
        SETTLE_TIMEOUT_S,
        f"{count} processor(s) settled in their consumer group",
    )


@contextmanager
def running_throwaway_stack(
    state_dir: Path, processor_count: int, environment: dict[str, str]
) -> Iterator[ThrowawayStack]:
    """A fresh stack (state wiped) in `state_dir`, its services started with `environment` on top
    of the product's defaults; stopped, and os.environ restored, on exit."""
    saved = dict(os.environ)
    try:
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                stack = _start(state_dir, processor_count, environment)
                break
            except (PortInUse, NotReady):
                _stop(state_dir)
                if attempt == _START_ATTEMPTS:
                    raise
        yield stack
    finally:
        _stop(state_dir)
        os.environ.clear()
        os.environ.update(saved)


def _stop(state_dir: Path) -> None:
    """Stop what runs in `state_dir` (never the stack of `make up`, whatever os.environ holds)."""
    down(Settings(state_dir=state_dir))


def _forget_server_locations() -> None:
    """Remove from os.environ every variable saying where a server is (an enclosing stack's, or
    the shell's), so that only the caller's settings choose other servers than the stack's own."""
    for variable in location_variables():
        os.environ.pop(variable, None)


def _start(state_dir: Path, processor_count: int, environment: dict[str, str]) -> ThrowawayStack:
    ports = StackPorts.free_now()
    _forget_server_locations()
    os.environ.update(
        {"IMGPIPE_STATE_DIR": str(state_dir), "IMGPIPE_PORT": str(ports.gateway), **environment}
    )
    settings, servers = point_at_local_servers(ports.local_ports())
    _stop(state_dir)  # whatever an interrupted earlier run left running in this state directory
    shutil.rmtree(state_dir, ignore_errors=True)
    paths = StackPaths(settings.state_dir)
    start_infrastructure(settings, servers, paths)
    base_url = start_services(settings, paths, processor_count)
    if processor_count:
        wait_for_processors(settings, processor_count)
    return ThrowawayStack(settings, paths, ports, base_url, dict(os.environ))
