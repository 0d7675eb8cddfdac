"""Property-based requests generated from the running gateway's OpenAPI schema, with every check
schemathesis has: no 5xx, and every answer (status, content type, body, headers) as documented."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack.paths import VENV_PYTHON
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_every_generated_request_is_answered_as_the_openapi_document_says(stack: RunningStack) -> None:
    schemathesis = VENV_PYTHON.parent / "st"
    result = subprocess.run(
        [
            str(schemathesis), "--config-file", str(CONFIG), "run", f"{stack.base_url}/openapi.json",
            "--checks", "all",
            "--max-examples", "40",
            "--generation-deterministic",
            "--request-timeout", "30",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
