"""The benchmark's own imgpipe stack (state in .local/bench-stack, free ports), started fresh.

A throwaway stack (devstack/throwaway.py), provisioned exactly as `make up` is; only the state
directory, the ports and the fetch allowlist (the local image server) differ. Every other setting
is the product's default.

The previous stack's state is set aside, not deleted, when a stack starts, and what was set aside
is deleted once a benchmark command has measured everything (`delete_set_aside_states`). On an
ext4 without a journal, as this machine's is, the kernel steps over every inode deleted in the
last minute (six, while the inode's table block is not yet written back) each time it allocates
one: after 20,000 files were deleted, a new file cost it 0.98 ms of CPU instead of 0.04, for
about 50 s. Wiping a full `make bench` state (over 100,000 files) right before measuring made
every output file the pipeline stored that dear: the first upload's processors spent 0.56-0.65
ms per photo in the kernel instead of 0.12-0.14, and the file storage of `storage.s3_ratio`
paid it where S3 (SeaweedFS appends to volume files) did not.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from devstack import processes
from devstack.paths import IMGPIPE_COMMAND, ROOT, StackPaths
from devstack.stack import down, gateway_answers, service_dir
from devstack.throwaway import ThrowawayStack, running_throwaway_stack
from devstack.waiting import wait_until
from imgpipe.config.settings import Settings

STATE_DIR = ROOT / ".local" / "bench-stack"
SET_ASIDE_DIR = ROOT / ".local" / "bench-stack-old"
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

    def restart_gateway(self, environment: dict[str, str] | None = None) -> None:
        """A fresh gateway process (so that its peak memory is that of what comes next), with
        `environment` on top of the stack's own until the next restart."""
        processes.stop(self.paths, "gateway")
        env = {**self.stack.environment, **(environment or {})}
        cwd = service_dir(self.settings, self.paths, "gateway")
        processes.start(self.paths, "gateway", [str(IMGPIPE_COMMAND), "gateway"], env=env, cwd=cwd)
        wait_until(lambda: gateway_answers(self.base_url), 60, "the restarted gateway")

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
    image_server_port: int,
    processors: int,
    storage_url: str | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[BenchStack]:
    """The bench stack, storing in files under its state directory unless `storage_url` says
    otherwise (`s3://…`: SeaweedFS, provisioned beside Kafka and the database), with any other
    `settings` (IMGPIPE_* variables) for every service."""
    environment = {
        "IMGPIPE_STORAGE_URL": storage_url or f"file://{STATE_DIR / 'processed_images'}",
        "IMGPIPE_FETCH_ALLOWLIST": f"127.0.0.1:{image_server_port}",
        "IMGPIPE_MONGODB_DATABASE": "imgpipe_bench",
        **(settings or {}),
    }
    _set_aside_previous_state()
    with running_throwaway_stack(STATE_DIR, processors, environment) as stack:
        yield BenchStack(stack, processors)


def _set_aside_previous_state() -> None:
    down(Settings(state_dir=STATE_DIR))  # what an interrupted run left running; its pids are there
    if STATE_DIR.exists():
        SET_ASIDE_DIR.mkdir(parents=True, exist_ok=True)
        STATE_DIR.rename(SET_ASIDE_DIR / uuid.uuid4().hex)


def delete_set_aside_states() -> None:
    """Delete the states of this command's earlier stacks, once nothing more is measured."""
    shutil.rmtree(SET_ASIDE_DIR, ignore_errors=True)
