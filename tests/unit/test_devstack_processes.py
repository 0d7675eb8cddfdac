"""`make up` twice starts nothing twice; a changed setting restarts; `down` stops by pid; a Go
server gets one processor."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from devstack import processes
from devstack.paths import StackPaths
from devstack.waiting import wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_second_start_reuses_the_running_process(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    first = processes.start(paths, "svc", SLEEPER, env={"IMGPIPE_PORT": "1"})
    try:
        assert processes.start(paths, "svc", SLEEPER, env={"IMGPIPE_PORT": "1"}) == first
        assert processes.running_pid(paths, "svc") == first
    finally:
        processes.stop(paths, "svc")
    assert processes.running_pid(paths, "svc") is None


def test_changed_settings_restart_the_process(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    first = processes.start(paths, "svc", SLEEPER, env={"IMGPIPE_PORT": "1"})
    try:
        second = processes.start(paths, "svc", SLEEPER, env={"IMGPIPE_PORT": "2"})
        assert second != first
        assert processes.running_pid(paths, "svc") == second
    finally:
        processes.stop(paths, "svc")


def test_stop_reports_whether_anything_ran(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    assert processes.stop(paths, "never-started") is False
    processes.start(paths, "svc", SLEEPER)
    assert processes.recorded_names(paths) == ["svc"]
    assert processes.stop(paths, "svc") is True
    assert processes.recorded_names(paths) == []


def _environment_of(pid: int) -> dict[str, str]:
    """The environment the process runs its command with: read once it has exec'd the command (a
    child read sooner still shows its parent's, as a loaded machine showed)."""
    wait_until(lambda: b"time.sleep" in Path(f"/proc/{pid}/cmdline").read_bytes(), 10, "the command to start")
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if entry)


def test_a_go_server_gets_one_processor_unless_gomaxprocs_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = StackPaths(tmp_path)
    monkeypatch.delenv("GOMAXPROCS", raising=False)
    pid = processes.start(paths, "go", SLEEPER, processes.go_server_environment())
    try:
        environment = _environment_of(pid)
        assert environment["GOMAXPROCS"] == "1"
        assert environment["PATH"] == os.environ["PATH"]
    finally:
        processes.stop(paths, "go")

    monkeypatch.setenv("GOMAXPROCS", "4")
    assert processes.go_server_environment()["GOMAXPROCS"] == "4"
