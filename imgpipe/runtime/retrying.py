"""Wait out an unavailable broker or database instead of dropping work.

A worker that cannot write its result must not acknowledge the message it came from, and must
not crash either: it retries the write, with capped exponential backoff, until the dependency is
back. Its partition waits meanwhile, which is the point: nothing is skipped.

A worker's handling of one message is retried after *any* failure (`until_done`): a Faust agent
that raises is restarted on a fresh stream, and the messages the old one held are then
acknowledged or dropped unprocessed. A bug therefore stalls its partition, loudly, with a
traceback in the log and the request flagged stalled, instead of silently losing rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka.errors import KafkaError
from pymongo.errors import ConnectionFailure

T = TypeVar("T")

logger = logging.getLogger(__name__)

# The failures that mean "not reachable right now", as opposed to a bug or a bad request.
UNAVAILABLE = (ConnectionFailure, KafkaError, ConnectionError, TimeoutError)

_FIRST_DELAY_S = 0.2
_MAX_DELAY_S = 5.0


async def until_available(operation: Callable[[], Awaitable[T]], what: str) -> T:
    delay = _FIRST_DELAY_S
    while True:
        try:
            return await operation()
        except UNAVAILABLE as error:
            logger.warning("%s failed (%s: %s); retrying in %.1f s", what, type(error).__name__, error, delay)
            await asyncio.sleep(delay)
            delay = min(_MAX_DELAY_S, delay * 2)


async def until_done(operation: Callable[[], Awaitable[T]], what: str) -> T:
    """Like `until_available`, but retries every failure; only for idempotent operations."""
    delay = _FIRST_DELAY_S
    while True:
        try:
            return await until_available(operation, what)
        except Exception:
            logger.exception("%s failed unexpectedly; retrying in %.1f s", what, delay)
            await asyncio.sleep(delay)
            delay = min(_MAX_DELAY_S, delay * 2)
