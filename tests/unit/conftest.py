"""The unit tier's own fixture: no setting leaks in from the environment the tests run in."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the environment the tests run in."""
    for name in list(os.environ):
        if name.upper().startswith(("IMGPIPE_", "AWS_")) or name.upper() in (
            "KAFKA_BOOTSTRAP_SERVERS",
            "MONGODB_URL",
        ):
            monkeypatch.delenv(name)
