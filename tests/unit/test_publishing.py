"""processors.publishing.work_then_publish: a row waiting for its result to be published gives
its working slot to the next row, and every result is still published."""

from __future__ import annotations

import asyncio
import functools

from processors.publishing import work_then_publish


async def test_a_row_waiting_to_publish_does_not_hold_its_working_slot() -> None:
    working = asyncio.Semaphore(1)
    broker_acknowledges = asyncio.Event()
    published: list[str] = []

    async def publish(result: str) -> None:
        await broker_acknowledges.wait()
        published.append(result)

    async def work(row: str) -> str:
        return row

    first = asyncio.ensure_future(work_then_publish(working, lambda: work("row 1"), publish))
    second = asyncio.ensure_future(work_then_publish(working, lambda: work("row 2"), publish))
    await asyncio.sleep(0.01)
    # Both rows were worked on through the one slot, though neither result is published yet.
    assert not working.locked()
    assert not first.done() and not second.done()
    broker_acknowledges.set()
    await asyncio.gather(first, second)
    assert sorted(published) == ["row 1", "row 2"]


async def test_the_slot_bounds_the_work_and_a_row_without_result_publishes_nothing() -> None:
    working = asyncio.Semaphore(1)
    in_slot = 0
    most_in_slot = 0
    published: list[int] = []

    async def work(row: int) -> int | None:
        nonlocal in_slot, most_in_slot
        in_slot += 1
        most_in_slot = max(most_in_slot, in_slot)
        await asyncio.sleep(0.001)
        in_slot -= 1
        return row if row % 2 else None

    async def publish(result: int) -> None:
        published.append(result)

    rows = [work_then_publish(working, functools.partial(work, row), publish) for row in range(6)]
    await asyncio.gather(*rows)
    assert most_in_slot == 1
    assert published == [1, 3, 5]
