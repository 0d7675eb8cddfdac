"""The whole local stack: broker, database, S3 server (with S3 storage), gateway, processor workers
and the aggregator."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from devstack import processes
from devstack.kafka import start_kafka
from devstack.mongodb import start_mongodb
from devstack.paths import IMGPIPE_COMMAND, ROOT, StackPaths
from devstack.ports import require_free
from devstack.seaweedfs import start_seaweedfs
from devstack.settings import LocalServers
from devstack.sync_run import run_sync
from devstack.waiting import wait_until
from imgpipe.config.settings import Settings
from imgpipe.config.storage_location import FileLocation, parse_storage_url
from imgpipe.runtime.topic_admin import ensure_topics

# Stopped in this order: producers of work first, the broker and the database last.
_SERVICE_ORDER = ("gateway", "processor", "aggregator", "kafka", "mongodb", "seaweedfs")


def start_infrastructure(settings: Settings, servers: LocalServers, paths: StackPaths) -> None:
    """Start the local servers, then make sure the topics exist on the broker the settings name."""
    if servers.mongodb_port is not None:
        start_mongodb(paths, servers.mongodb_port)
    if servers.kafka_port is not None:
        start_kafka(paths, servers.kafka_port)
    if servers.s3 is not None:
        start_seaweedfs(paths, servers.s3)
    run_sync(ensure_topics(settings.kafka))


def service_dir(settings: Settings, paths: StackPaths, name: str) -> Path:
    """A service's working directory: the project's root with file storage (processed_images/
    is shared there), one of its own with S3, where services share no files."""
    if isinstance(parse_storage_url(settings.storage_url), FileLocation):
        return ROOT
    directory = paths.service_dirs / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def gateway_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def metrics_port(settings: Settings, worker_number: int) -> int:
    """Each worker's own Prometheus port: the aggregator (0) at the gateway's port + 50, processor N
    at + 50 + N, so that stacks with different gateway ports never collide."""
    return settings.port + 50 + worker_number


def _worker_env(env: dict[str, str], settings: Settings, name: str, number: int) -> dict[str, str]:
    return {**env, "IMGPIPE_WORKER_ID": name, "IMGPIPE_METRICS_PORT": str(metrics_port(settings, number))}


def start_services(settings: Settings, paths: StackPaths, processor_count: int) -> str:
    """Start the gateway, `processor_count` processors and one aggregator; return the gateway URL."""
    imgpipe = str(IMGPIPE_COMMAND)
    # Absolute: a service whose working directory is its own must still find the stack's state.
    env = {**os.environ, "IMGPIPE_STATE_DIR": str(paths.root)}
    if processes.running_pid(paths, "gateway") is None:
        require_free(settings.port, "the gateway")
    processes.start(
        paths, "gateway", [imgpipe, "gateway"], env=env, cwd=service_dir(settings, paths, "gateway")
    )
    names = [f"processor-{number}" for number in range(1, processor_count + 1)]
    for surplus in set(processes.recorded_names(paths)) - set(names):
        if surplus.startswith("processor-"):  # `make up PROCESSORS=1` after PROCESSORS=2
            processes.stop(paths, surplus)
    for number, name in enumerate(names, 1):
        processes.start(
            paths,
            name,
            [imgpipe, "processor"],
            env=_worker_env(env, settings, name, number),
            cwd=service_dir(settings, paths, name),
        )
    aggregator_env = _worker_env(env, settings, "aggregator", 0)
    processes.start(
        paths,
        "aggregator",
        [imgpipe, "aggregator"],
        env=aggregator_env,
        cwd=service_dir(settings, paths, "aggregator"),
    )
    url = f"http://{settings.host}:{settings.port}"
    wait_until(lambda: gateway_answers(url), 60, f"the gateway on {url}")
    _fail_if_any_died(paths, ["gateway", *names, "aggregator"])
    return url


def _fail_if_any_died(paths: StackPaths, names: list[str]) -> None:
    """A worker that crashed on start (bad setting, unreachable broker) must not go unnoticed."""
    dead = [name for name in names if processes.running_pid(paths, name) is None]
    if dead:
        logs = ", ".join(str(paths.log(name)) for name in dead)
        raise SystemExit(f"{', '.join(dead)} exited during start-up; see {logs}")


def up(settings: Settings, servers: LocalServers, processor_count: int) -> str:
    paths = StackPaths(settings.state_dir)
    start_infrastructure(settings, servers, paths)
    return start_services(settings, paths, processor_count)


def down(settings: Settings) -> list[str]:
    paths = StackPaths(settings.state_dir)
    names = processes.recorded_names(paths)
    ordered = sorted(
        names, key=lambda n: next((i for i, s in enumerate(_SERVICE_ORDER) if n.startswith(s)), 99)
    )
    return [name for name in ordered if processes.stop(paths, name)]
