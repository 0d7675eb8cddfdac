"""processors.working_slots.WorkingSlots: a request's only row here goes first, the rest in order."""

from __future__ import annotations

import asyncio

from processors.working_slots import WorkingSlots


async def _settled() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_new_requests_row_is_served_before_a_batchs_waiting_rows() -> None:
    slots = WorkingSlots(1)
    started: list[str] = []
    release = {name: asyncio.Event() for name in ("batch-0", "batch-1", "batch-2", "small-0")}

    async def row(request_id: str, name: str) -> None:
        async with slots.slot(request_id):
            started.append(name)
            await release[name].wait()

    tasks = [asyncio.ensure_future(row("batch", f"batch-{n}")) for n in range(3)]
    await _settled()
    tasks.append(asyncio.ensure_future(row("small", "small-0")))
    await _settled()
    for name in ("batch-0", "small-0", "batch-1", "batch-2"):
        release[name].set()
        await _settled()
    await asyncio.gather(*tasks)
    assert started == ["batch-0", "small-0", "batch-1", "batch-2"]


async def test_rows_of_requests_already_here_keep_their_arrival_order() -> None:
    slots = WorkingSlots(2)
    started: list[str] = []
    gate = asyncio.Event()

    async def row(request_id: str, name: str) -> None:
        async with slots.slot(request_id):
            started.append(name)
            await gate.wait()

    names = [("a", "a0"), ("b", "b0"), ("a", "a1"), ("b", "b1"), ("a", "a2")]
    tasks = [asyncio.ensure_future(row(request_id, name)) for request_id, name in names]
    await _settled()
    assert started == ["a0", "b0"]
    gate.set()
    await asyncio.gather(*tasks)
    assert started == ["a0", "b0", "a1", "b1", "a2"]


async def test_a_cancelled_waiter_gives_up_its_place_and_the_slots_stay_whole() -> None:
    slots = WorkingSlots(1)
    gate = asyncio.Event()
    done: list[str] = []

    async def row(request_id: str, name: str) -> None:
        async with slots.slot(request_id):
            await gate.wait()
            done.append(name)

    holder = asyncio.ensure_future(row("a", "holder"))
    waiting = asyncio.ensure_future(row("b", "cancelled"))
    after = asyncio.ensure_future(row("c", "after"))
    await _settled()
    waiting.cancel()
    await _settled()
    gate.set()
    await asyncio.gather(holder, after)
    assert waiting.cancelled() and done == ["holder", "after"]
    async with slots.slot("d"):  # the one slot is free again
        pass
