"""`make up` twice starts nothing twice; a changed setting restarts; `down` stops by pid."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack import processes
from devstack.paths import StackPaths

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
