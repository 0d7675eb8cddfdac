"""A fetch's retries: a few, for transient failures, with exponential backoff and jitter,
honoring Retry-After.

Permanent failures (404, not an image, blocked destination) are returned at once: asking again
cannot change the answer, and retrying them would only slow the row down. The number of retries
is bounded because a source that keeps failing is the image's error, reported in its row. The
broker, the database and storage are waited out without a bound instead
(imgpipe/runtime/retrying.py): their outage is the pipeline's, not the image's.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from processors.fetch import FetchError

Fetched = TypeVar("Fetched")


@dataclass(frozen=True)
class FetchRetryPolicy:
    retries: int
    base_s: float
    max_s: float

    def longest_s(self, attempt_timeout_s: float) -> float:
        """The longest every attempt together can take, each timing out and each backoff the
        longest (a Retry-After may ask for that)."""
        return (self.retries + 1) * attempt_timeout_s + self.retries * self.max_s


def backoff_delay(policy: FetchRetryPolicy, retry: int, retry_after_s: float | None) -> float:
    """Seconds to wait before retry number `retry` (0-based)."""
    if retry_after_s is not None:
        return min(retry_after_s, policy.max_s)
    # "Full jitter" over the upper half: spreads retries of many rows hitting one slow server.
    return min(policy.max_s, policy.base_s * 2.0**retry) * random.uniform(0.5, 1.0)


async def with_retries(
    fetch: Callable[[], Awaitable[Fetched]],
    policy: FetchRetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Fetched:
    for retry in range(policy.retries + 1):
        try:
            return await fetch()
        except FetchError as error:
            if not error.transient or retry == policy.retries:
                raise
            await sleep(backoff_delay(policy, retry, error.retry_after_s))
    raise AssertionError("unreachable: the last attempt returns or raises")
