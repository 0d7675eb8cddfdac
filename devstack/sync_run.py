"""Run a coroutine to completion from synchronous code, even inside a running event loop (async
tests call the synchronous helpers and the throwaway stack's waits too, and a stack may start while
Playwright's synchronous API holds a loop in the test's thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T], timeout_s: float = 120) -> T:
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(coroutine))
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if failure:
        raise failure[0]
    if not outcome:
        raise TimeoutError(f"gave up after {timeout_s} s")
    return outcome[0]
