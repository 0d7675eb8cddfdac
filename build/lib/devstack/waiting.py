"""Poll until a service answers, with a deadline and a clear failure."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(ready: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not become ready within {timeout_s:.0f} s")
        time.sleep(0.3)
