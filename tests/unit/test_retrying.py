"""Workers retry a failed write, or a failed handling of a message, instead of dropping it."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.errors import AutoReconnect

from imgpipe.runtime import retrying


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrying, "_FIRST_DELAY_S", 0.0)


class FailingThenDone:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


async def test_until_available_retries_an_unavailable_dependency() -> None:
    operation = FailingThenDone([AutoReconnect("down"), ConnectionRefusedError()])
    assert await retrying.until_available(operation, "writing") == "done"
    assert operation.calls == 3


async def test_until_available_lets_a_bug_through() -> None:
    operation = FailingThenDone([KeyError("bug")])
    with pytest.raises(KeyError):
        await retrying.until_available(operation, "writing")
    assert operation.calls == 1


async def test_until_done_retries_any_failure_and_logs_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    operation = FailingThenDone([KeyError("bug"), AutoReconnect("down"), ValueError("bad")])
    assert await retrying.until_done(operation, "handling rows[3]@7") == "done"
    assert operation.calls == 4
    unexpected = [record for record in caplog.records if record.exc_info]
    assert [record.exc_info[0] for record in unexpected if record.exc_info] == [KeyError, ValueError]
    assert all("handling rows[3]@7" in record.getMessage() for record in unexpected)


async def test_until_done_is_cancellable() -> None:
    async def forever() -> None:
        await asyncio.sleep(3600)

    task = asyncio.ensure_future(retrying.until_done(forever, "waiting"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
