"""IMGPIPE_TEST_BACKEND: the testcontainers path is chosen, and without a Docker engine the
integration tests are skipped with the reason rather than failing or running on local processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.paths import ROOT
from tests.support.backends import docker_unreachable_reason


def _absent_docker_host(tmp_path: Path) -> str:
    return f"unix://{tmp_path / 'no-docker.sock'}"


def test_an_absent_docker_engine_is_named_in_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = _absent_docker_host(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", host)
    reason = docker_unreachable_reason()
    assert reason is not None and reason.startswith(f"no Docker engine is reachable at {host}")


def _pytest(tmp_path: Path, backend: str, *test_files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IMGPIPE_TEST_BACKEND": backend, "DOCKER_HOST": _absent_docker_host(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *test_files],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_docker_the_testcontainers_backend_skips_with_the_reason(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "testcontainers", "tests/integration/test_end_to_end.py")
    assert run.returncode == 0, run.stdout[-3000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert "skipped" in summary and "passed" not in summary and "failed" not in summary
    assert "IMGPIPE_TEST_BACKEND=testcontainers: no Docker engine is reachable" in run.stdout


def test_an_unknown_backend_is_refused_by_name(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "docker", "tests/integration/test_end_to_end.py")
    assert run.returncode != 0
    assert (
        "IMGPIPE_TEST_BACKEND='docker': use 'local' (the default) or 'testcontainers'"
        in run.stdout + run.stderr
    )
