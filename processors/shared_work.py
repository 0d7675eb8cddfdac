"""Work shared between the occurrences of one key: done once per key in a worker, its result shared.

A URL that appears many times in one request is fetched and compressed once per worker: the
first occurrence starts the work, every other occurrence, arriving while it runs or after it
finished, awaits the same result. Results the work marks as not shareable (the source said
`no-store` or `no-cache`) serve only the occurrences that were already waiting; a later one does
the work again.

The memory is bounded: the least recently used results are forgotten first.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Result = TypeVar("Result")


class SharedWork(Generic[Result]):
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._results: OrderedDict[Hashable, asyncio.Future[Result]] = OrderedDict()

    async def run(
        self, key: Hashable, work: Callable[[], Awaitable[tuple[Result, bool]]]
    ) -> tuple[Result, bool]:
        """`work`'s result and True, or, when another caller did or is doing the work for `key`,
        its result and False. `work` returns its result and whether it may be shared later."""
        existing = self._results.get(key)
        if existing is not None:
            self._results.move_to_end(key)
            return await asyncio.shield(existing), False
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._results[key] = future
        while len(self._results) > self._capacity:
            self._results.popitem(last=False)
        try:
            result, shareable = await work()
        except BaseException as error:
            # A bug or a cancellation: the waiters see it too, and nobody later reuses it.
            self._forget(key, future)
            if isinstance(error, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(error)
                future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        future.set_result(result)
        if not shareable:
            self._forget(key, future)
        return result, True

    def _forget(self, key: Hashable, future: asyncio.Future[Result]) -> None:
        if self._results.get(key) is future:
            del self._results[key]
