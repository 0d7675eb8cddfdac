"""aggregator.finisher.Finisher: a long completion holds up neither the caller nor other requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aggregator.finisher import Finisher
from imgpipe.state.database import RequestDocument
from imgpipe.state.request_state import RequestState, initial_state

NOW = datetime(2026, 11, 28, tzinfo=UTC)
STATE = initial_state(NOW)


def _request(request_id: str) -> RequestDocument:
    return RequestDocument(
        _id=request_id,
        rows_total=1,
        images_total=1,
        webhook_url=None,
        owner=None,
        quality=80,
        created_at=NOW,
        state_version=0,
    )


async def test_one_slow_completion_does_not_hold_up_another() -> None:
    slow_may_end = asyncio.Event()
    finished: list[str] = []

    async def finish(request: RequestDocument, state: RequestState) -> RequestState:
        if request["_id"] == "slow":
            await slow_may_end.wait()
        finished.append(request["_id"])
        return state

    finisher = Finisher(finish)
    finisher.start(_request("slow"), STATE)  # returns at once: the caller goes on counting
    finisher.start(_request("quick"), STATE)
    for _ in range(100):
        if finished:
            break
        await asyncio.sleep(0.01)
    assert finished == ["quick"]
    slow_may_end.set()
    for _ in range(100):
        if len(finished) == 2:
            break
        await asyncio.sleep(0.01)
    assert finished == ["quick", "slow"]


async def test_a_request_handed_over_twice_is_finished_once_at_a_time() -> None:
    may_end = asyncio.Event()
    calls = 0

    async def finish(request: RequestDocument, state: RequestState) -> RequestState:
        nonlocal calls
        calls += 1
        await may_end.wait()
        return state

    finisher = Finisher(finish)
    finisher.start(_request("r"), STATE)
    finisher.start(_request("r"), STATE)
    await asyncio.sleep(0.05)
    may_end.set()
    await finisher.stop()
    assert calls == 1


async def test_stop_cuts_a_completion_short() -> None:
    async def finish(request: RequestDocument, state: RequestState) -> RequestState:
        await asyncio.Event().wait()
        return state

    finisher = Finisher(finish)
    finisher.start(_request("r"), STATE)
    await asyncio.wait_for(finisher.stop(), timeout=5)
