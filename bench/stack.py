"""The benchmark's own imgpipe stack (state in .local/bench-stack, ports of its own), started fresh.

Provisioned by devstack exactly as `make up` is; only the state directory, the ports and the
fetch allowlist (the local image server) differ. Every other setting is the product's default.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from devstack import processes
from devstack.consumer_groups import PROCESSORS_GROUP, stable_group_members
from devstack.paths import ROOT, StackPaths
from devstack.stack import down, start_infrastructure, start_services
from devstack.waiting import wait_until
from imgpipe.settings import Settings

STATE_DIR = ROOT / ".local" / "bench-stack"
# Below Linux's ephemeral ports (32768-60999): there, any outgoing connection of another process
# may hold the port when the stack starts (three starts out of three failed so while a test
# stack ran beside it). The workers' metrics ports follow the gateway's (devstack.stack).
KAFKA_PORT, MONGODB_PORT, GATEWAY_PORT = 25092, 25017, 25000
S3_PORT = 25333  # SeaweedFS, for the S3 storage figure (and the seven ports after it)
S3_BUCKET = "imgpipe-bench"
INFRASTRUCTURE = ("kafka", "mongodb", "seaweedfs")  # what devstack runs beside the services


@dataclass
class BenchStack:
    settings: Settings
    paths: StackPaths
    base_url: str
    processors: int

    def set_processors(self, count: int) -> None:
        """Run exactly `count` processor workers, and wait until their group has settled."""
        start_services(self.settings, self.paths, count)
        self.processors = count
        if count:
            wait_until(
                lambda: (
                    asyncio.run(stable_group_members(self.settings.kafka_bootstrap, PROCESSORS_GROUP))
                    == count
                ),
                90,
                f"{count} processor(s) settled in their consumer group",
            )

    def restart_gateway(self) -> None:
        """A fresh gateway process, so that its peak memory is that of what comes next."""
        processes.stop(self.paths, "gateway")
        start_services(self.settings, self.paths, self.processors)

    def running_pids(self) -> dict[str, int]:
        """Every process of the stack by name: Kafka, the database and the imgpipe services."""
        names = processes.recorded_names(self.paths)
        return {name: pid for name in names if (pid := processes.running_pid(self.paths, name)) is not None}

    def service_pids(self) -> dict[str, int]:
        """Every imgpipe service's process (the gateway, each processor, the aggregator) by name."""
        return {name: pid for name, pid in self.running_pids().items() if name not in INFRASTRUCTURE}

    def gateway_pid(self) -> int:
        pid = processes.running_pid(self.paths, "gateway")
        if pid is None:
            raise RuntimeError("the gateway is not running")
        return pid


@contextmanager
def running_bench_stack(
    image_server_port: int, processors: int, storage_url: str | None = None
) -> Iterator[BenchStack]:
    """The bench stack, storing in files under its state directory unless `storage_url` says
    otherwise (`s3://…`: SeaweedFS, provisioned beside Kafka and the database)."""
    saved = dict(os.environ)
    os.environ.update(
        {
            "IMGPIPE_STATE_DIR": str(STATE_DIR),
            "IMGPIPE_LOCAL_KAFKA_PORT": str(KAFKA_PORT),
            "IMGPIPE_LOCAL_MONGODB_PORT": str(MONGODB_PORT),
            "IMGPIPE_PORT": str(GATEWAY_PORT),
            "IMGPIPE_STORAGE_URL": storage_url or f"file://{STATE_DIR / 'processed_images'}",
            "IMGPIPE_LOCAL_S3_PORT": str(S3_PORT),
            "IMGPIPE_FETCH_ALLOWLIST": f"127.0.0.1:{image_server_port}",
            "IMGPIPE_MONGODB_DATABASE": "imgpipe_bench",
        }
    )
    settings = Settings()
    down(settings)  # whatever an interrupted earlier run left behind
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    paths = StackPaths(settings.state_dir)
    try:
        start_infrastructure(settings, paths)
        base_url = start_services(settings, paths, processors)
        stack = BenchStack(settings, paths, base_url, processors)
        stack.set_processors(processors)
        yield stack
    finally:
        down(settings)
        os.environ.clear()
        os.environ.update(saved)
