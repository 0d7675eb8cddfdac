"""Shared work: one run of the work per key, its result shared with every caller."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from processors.shared_work import SharedWork


async def test_callers_arriving_during_and_after_the_work_share_one_run() -> None:
    shared: SharedWork[str] = SharedWork(capacity=10)
    runs = 0
    release = asyncio.Event()

    async def work() -> tuple[str, bool]:
        nonlocal runs
        runs += 1
        await release.wait()
        return "output", True

    during = [asyncio.create_task(shared.run("url", work)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*during)
    after = await shared.run("url", work)
    assert runs == 1
    assert sorted(produced for _, produced in [*results, after]) == [False, False, False, True]
    assert {result for result, _ in [*results, after]} == {"output"}


async def test_a_result_not_shareable_serves_only_the_callers_already_waiting() -> None:
    shared: SharedWork[int] = SharedWork(capacity=10)
    runs = 0

    async def work() -> tuple[int, bool]:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.01)
        return runs, False

    first, waiting = await asyncio.gather(shared.run("url", work), shared.run("url", work))
    later = await shared.run("url", work)
    assert (first, waiting, later) == ((1, True), (1, False), (2, True))


async def test_a_failure_reaches_the_waiters_and_is_not_kept() -> None:
    shared: SharedWork[int] = SharedWork(capacity=10)

    async def failing() -> tuple[int, bool]:
        await asyncio.sleep(0.01)
        raise RuntimeError("bug")

    async def working() -> tuple[int, bool]:
        return 7, True

    outcomes = await asyncio.gather(
        shared.run("url", failing), shared.run("url", failing), return_exceptions=True
    )
    assert [type(outcome) for outcome in outcomes] == [RuntimeError, RuntimeError]
    assert await shared.run("url", working) == (7, True)


async def test_the_least_recently_used_results_are_forgotten_first() -> None:
    shared: SharedWork[str] = SharedWork(capacity=2)
    runs: list[str] = []

    def work_for(key: str) -> Callable[[], Awaitable[tuple[str, bool]]]:
        async def work() -> tuple[str, bool]:
            runs.append(key)
            return key, True

        return work

    for key in ["a", "b", "a", "c", "a", "b"]:
        await shared.run(key, work_for(key))
    # "a" stayed in use; "b" was forgotten when "c" came, and done again.
    assert runs == ["a", "b", "c", "b"]
