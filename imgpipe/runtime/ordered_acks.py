"""Process many messages at once, but acknowledge them strictly in offset order, per partition.

Faust's own `concurrency=N` acknowledges rows in whatever order they finish, and on a partition
that has no committed offset yet it then commits past rows still in flight: a worker killed at
that moment loses them (seen in our kill tests). So the agent runs one actor that starts each
row as a task and acknowledges a row only once it and every earlier row of its partition are
done. A slow row holds back its partition's commit point, not the other rows' processing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class OrderedAcks(Generic[Item]):
    def __init__(self, ack: Callable[[Item], Awaitable[object]], max_in_flight: int) -> None:
        self._ack = ack
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: dict[Hashable, deque[tuple[Item, asyncio.Future[object]]]] = {}
        self._finished = asyncio.Event()
        self.draining = False

    async def start(self, partition: Hashable, item: Item, work: Awaitable[object]) -> bool:
        """Start `work` for `item` and return True; waits while `max_in_flight` items are
        unacknowledged. Once draining, starts nothing and returns False (the item stays
        unacknowledged, so it is redelivered, not lost)."""
        await self._slots.acquire()
        if self.draining:
            self._slots.release()
            if asyncio.iscoroutine(work):
                work.close()
            return False
        task = asyncio.ensure_future(work)
        task.add_done_callback(lambda _: self._finished.set())
        self._in_flight.setdefault(partition, deque()).append((item, task))
        return True

    async def acknowledge_forever(self) -> None:
        """Run beside the loop that calls `start`: acks every finished head of a partition."""
        while True:
            await self._finished.wait()
            self._finished.clear()
            await self._acknowledge_finished_heads()

    async def _acknowledge_finished_heads(self) -> None:
        for queue in self._in_flight.values():
            while queue and queue[0][1].done():
                item, task = queue.popleft()
                task.result()  # work must handle its own failures; a bug here should be loud
                await self._ack(item)
                self._slots.release()

    async def drain(self) -> None:
        """Start nothing more; wait for everything started, then acknowledge it."""
        self.draining = True
        tasks = [task for queue in self._in_flight.values() for _, task in queue]
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._acknowledge_finished_heads()
