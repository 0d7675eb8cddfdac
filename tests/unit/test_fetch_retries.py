"""Transient fetch failures are retried with growing delays; permanent ones are not."""

from __future__ import annotations

import pytest

from imgpipe.contract.messages import ErrorCode
from processors.fetch import FetchError
from processors.fetch_retries import FetchRetryPolicy, backoff_delay, with_retries

POLICY = FetchRetryPolicy(retries=3, base_s=0.5, max_s=4.0)


class FlakySource:
    def __init__(self, failures: list[FetchError]) -> None:
        self.failures = failures
        self.calls = 0

    async def fetch(self) -> bytes:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return b"image"


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _transient(retry_after_s: float | None = None) -> FetchError:
    return FetchError(ErrorCode.HTTP_ERROR, "HTTP 503", transient=True, retry_after_s=retry_after_s)


async def test_transient_failures_are_retried_until_success() -> None:
    source, sleep = FlakySource([_transient(), _transient()]), RecordingSleep()
    assert await with_retries(source.fetch, POLICY, sleep) == b"image"
    assert source.calls == 3
    assert len(sleep.delays) == 2
    assert 0.25 <= sleep.delays[0] <= 0.5 and 0.5 <= sleep.delays[1] <= 1.0


async def test_gives_up_after_the_configured_retries() -> None:
    source, sleep = FlakySource([_transient() for _ in range(10)]), RecordingSleep()
    with pytest.raises(FetchError):
        await with_retries(source.fetch, POLICY, sleep)
    assert source.calls == 4  # the first try and three retries


async def test_permanent_failures_are_not_retried() -> None:
    not_found = FetchError(ErrorCode.HTTP_ERROR, "HTTP 404")
    source, sleep = FlakySource([not_found]), RecordingSleep()
    with pytest.raises(FetchError) as raised:
        await with_retries(source.fetch, POLICY, sleep)
    assert raised.value is not_found
    assert source.calls == 1 and sleep.delays == []


async def test_retry_after_is_honored_up_to_the_cap() -> None:
    source, sleep = (
        FlakySource([_transient(retry_after_s=2.0), _transient(retry_after_s=60.0)]),
        RecordingSleep(),
    )
    await with_retries(source.fetch, POLICY, sleep)
    assert sleep.delays == [2.0, 4.0]


def test_backoff_grows_and_is_capped() -> None:
    upper_bounds = [POLICY.base_s * 2**n for n in range(6)]
    for retry, bound in enumerate(upper_bounds):
        delay = backoff_delay(POLICY, retry, None)
        assert min(bound, POLICY.max_s) / 2 <= delay <= min(bound, POLICY.max_s)


def test_the_longest_retried_fetch_is_every_attempt_timing_out_and_every_backoff_at_its_cap() -> None:
    assert FetchRetryPolicy(retries=3, base_s=0.5, max_s=10).longest_s(attempt_timeout_s=3) == 4 * 3 + 3 * 10
    assert FetchRetryPolicy(retries=0, base_s=0.5, max_s=10).longest_s(attempt_timeout_s=3) == 3
