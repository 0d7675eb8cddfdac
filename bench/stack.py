"""The benchmark's own imgpipe stack (state in .local/bench-stack, free ports), started fresh.

A throwaway stack (devstack/throwaway.py), provisioned exactly as `make up` is; only the state
directory, the ports and the fetch allowlist (the local image server) differ. Every other setting
is the product's default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from devstack import processes
from devstack.paths import ROOT, StackPaths
from devstack.stack import start_services
from devstack.throwaway import ThrowawayStack, running_throwaway_stack
from imgpipe.settings import Settings

STATE_DIR = ROOT / ".local" / "bench-stack"
S3_BUCKET = "imgpipe-bench"
INFRASTRUCTURE = ("kafka", "mongodb", "seaweedfs")  # what devstack runs beside the services


@dataclass
class BenchStack:
    stack: ThrowawayStack
    processors: int

    @property
    def settings(self) -> Settings:
        return self.stack.settings

    @property
    def paths(self) -> StackPaths:
        return self.stack.paths

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    def set_processors(self, count: int) -> None:
        """Run exactly `count` processor workers, and wait until their group has settled."""
        self.stack.set_processors(count)
        self.processors = count

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
    environment = {
        "IMGPIPE_STORAGE_URL": storage_url or f"file://{STATE_DIR / 'processed_images'}",
        "IMGPIPE_FETCH_ALLOWLIST": f"127.0.0.1:{image_server_port}",
        "IMGPIPE_MONGODB_DATABASE": "imgpipe_bench",
    }
    with running_throwaway_stack(STATE_DIR, processors, environment) as stack:
        yield BenchStack(stack, processors)
