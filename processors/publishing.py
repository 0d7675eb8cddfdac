"""A row in two stages: worked on in one of a few working slots, then published outside them.

The slots bound what is fetched and compressed at once (memory, source servers). Publishing a
result mostly waits (the producer's linger, then the broker's acknowledgement), and with small
images that wait is longer than the work: a row that held its slot through it kept the worker
idle. So the slot is given back first; the row still counts as unacknowledged until its result
is on the broker (imgpipe.runtime.ordered_acks), so no delivery guarantee changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

Result = TypeVar("Result")


async def work_then_publish(
    slot: AbstractAsyncContextManager[None],
    work: Callable[[], Awaitable[Result | None]],
    publish: Callable[[Result], Awaitable[None]],
) -> None:
    """`work` holding a working `slot`; then, the slot given back, `publish` its result (if any)."""
    async with slot:
        result = await work()
    if result is not None:
        await publish(result)
