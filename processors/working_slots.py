"""A processor's working slots, given first to a request's only row here, then in arrival order.

The gateways keep a few dozen rows of all requests in `imgpipe.rows` (gateway/publishing/fair_scheduler.py),
and a processor takes its partitions' share of them at once: a batch's rows wait here for a slot.
Were slots given in arrival order alone, a one-image request uploaded beside a batch would wait
behind every batch row already here. So a row that is the only one of its request in this
processor (working or waiting) goes first; the others keep their order. That moves no share: a
request has at most one such row at a time per processor, and what each request may have in the
topic is still the gateways' fair window.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WorkingSlots:
    def __init__(self, slots: int) -> None:
        self._free = slots
        self._here: Counter[str | None] = Counter()
        self._first_rows: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self, request_id: str | None) -> AsyncIterator[None]:
        """Hold a slot for a row of `request_id` (None: not known) while the body runs."""
        self._here[request_id] += 1
        try:
            await self._acquire(first=request_id is not None and self._here[request_id] == 1)
            try:
                yield
            finally:
                self._release()
        finally:
            self._here[request_id] -= 1
            if not self._here[request_id]:
                del self._here[request_id]

    async def _acquire(self, first: bool) -> None:
        if self._free and not self._first_rows and not self._others:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._first_rows if first else self._others
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot just as it was cancelled: pass it on
            elif waiter in queue:
                queue.remove(waiter)
            raise

    def _release(self) -> None:
        for queue in (self._first_rows, self._others):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._free += 1
