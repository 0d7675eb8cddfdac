"""Poll until a condition holds, with a deadline and a failure that names what was awaited.

The one waiting loop of the project: devstack waits for its servers with it, and the tests wait
for conditions with it instead of sleeping for a guessed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class NotReady(RuntimeError):
    """What was awaited did not happen before the deadline."""


def wait_until(ready: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.3) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise NotReady(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(interval_s)
