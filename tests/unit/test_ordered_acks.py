"""Rows finish in any order, but are acknowledged in offset order, per partition."""

from __future__ import annotations

import asyncio

from imgpipe.runtime.ordered_acks import OrderedAcks


async def _run(acks: OrderedAcks[str] | OrderedAcks[int]) -> asyncio.Future[None]:
    return asyncio.ensure_future(acks.acknowledge_forever())


async def test_a_slow_row_holds_back_only_its_own_partition() -> None:
    acked: list[str] = []

    async def ack(item: str) -> None:
        acked.append(item)

    acks: OrderedAcks[str] = OrderedAcks(ack, max_in_flight=10)
    acknowledger = await _run(acks)
    slow = asyncio.Event()
    await acks.start("p0", "p0-1", slow.wait())
    await acks.start("p0", "p0-2", asyncio.sleep(0))
    await acks.start("p1", "p1-1", asyncio.sleep(0))
    await asyncio.sleep(0.05)
    assert acked == ["p1-1"]  # p0-2 is done but waits behind p0-1
    slow.set()
    await asyncio.sleep(0.05)
    assert acked == ["p1-1", "p0-1", "p0-2"]
    acknowledger.cancel()


async def test_starting_waits_when_the_window_is_full() -> None:
    acks: OrderedAcks[int] = OrderedAcks(lambda _: asyncio.sleep(0), max_in_flight=2)
    acknowledger = await _run(acks)
    gate = asyncio.Event()
    await acks.start("p", 1, gate.wait())
    await acks.start("p", 2, gate.wait())
    third = asyncio.ensure_future(acks.start("p", 3, asyncio.sleep(0)))
    await asyncio.sleep(0.05)
    assert not third.done()
    gate.set()
    await asyncio.wait_for(third, 1)
    acknowledger.cancel()


async def test_drain_finishes_and_acknowledges_everything_started() -> None:
    acked: list[int] = []

    async def ack(item: int) -> None:
        acked.append(item)

    acks: OrderedAcks[int] = OrderedAcks(ack, max_in_flight=5)
    for n in range(3):
        await acks.start("p", n, asyncio.sleep(0.01 * (3 - n)))
    await acks.drain()
    assert acked == [0, 1, 2]
