"""Property-based requests generated from the running gateway's OpenAPI schema: never a 5xx."""

from __future__ import annotations

import subprocess

import pytest

from devstack.paths import VENV_PYTHON
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration


def test_no_generated_request_gets_a_server_error(stack: RunningStack) -> None:
    schemathesis = VENV_PYTHON.parent / "st"
    result = subprocess.run(
        [
            str(schemathesis), "run", f"{stack.base_url}/openapi.json",
            "--checks", "not_a_server_error",
            "--max-examples", "40",
            "--generation-deterministic",
            "--request-timeout", "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
