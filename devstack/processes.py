"""Background processes recorded by pid file, so `up` is idempotent and `down` stops exactly them."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from devstack.paths import StackPaths


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not running.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def running_pid(paths: StackPaths, name: str) -> int | None:
    pid = _read_pid(paths.pid_file(name))
    return pid if pid is not None and _alive(pid) else None


def _fingerprint(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """What a process was started with, as far as imgpipe is concerned: command and settings."""
    relevant = sorted(
        (key, value)
        for key, value in env.items()
        if key.startswith(("IMGPIPE_", "AWS_")) or key in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL")
    )
    return hashlib.sha256(repr((list(argv), relevant)).encode()).hexdigest()


def _recorded_fingerprint(pid_file: Path) -> str | None:
    try:
        lines = pid_file.read_text().split()
    except FileNotFoundError:
        return None
    return lines[1] if len(lines) > 1 else None


def go_server_environment() -> dict[str, str]:
    """The environment of a Go server of the local stack (FerretDB, SeaweedFS): one processor for
    its goroutines, unless GOMAXPROCS says otherwise. With the default of one per core, on a
    machine its clients share, its idle processors spin looking for work: on 2 cores that cost
    FerretDB a third more CPU per image (measured in docs/SCALING.md, "Tried and dropped")."""
    return {"GOMAXPROCS": "1", **os.environ}


def start(
    paths: StackPaths,
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start `argv` detached, logging to logs/<name>.log.

    A copy already running with the same command and settings is left alone; one started with
    different settings is restarted, so `make up` after changing a setting applies it.
    """
    fingerprint = _fingerprint(argv, env or {})
    existing = running_pid(paths, name)
    if existing is not None:
        if _recorded_fingerprint(paths.pid_file(name)) == fingerprint:
            return existing
        stop(paths, name)
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.pids.mkdir(parents=True, exist_ok=True)
    with paths.log(name).open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # outlives `make up`, and a Ctrl-C there does not reach it
        )
    paths.pid_file(name).write_text(f"{process.pid}\n{fingerprint}\n")
    return process.pid


def stop(paths: StackPaths, name: str, timeout_s: float = 20.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout_s`. True if something was running."""
    pid = running_pid(paths, name)
    paths.pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def recorded_names(paths: StackPaths) -> list[str]:
    return sorted(p.stem for p in paths.pids.glob("*.pid")) if paths.pids.exists() else []
