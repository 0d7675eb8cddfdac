"""How many rows of each request this gateway publishes have finished, counted off `imgpipe.results`.

The scheduler publishes a row when one of its request's rows finishes, so it must hear of
finishing within milliseconds: polling the aggregator's counters in MongoDB would cost reads per
request many times a second and lag behind by the aggregator's batching. Results are keyed by
request id, so counting needs only the keys: no message is decoded. The gateway reads every
partition from the end, outside any consumer group, and nothing is committed.

A row done twice (a processor killed after publishing, a repair) counts twice, so a window may
briefly hold a row more than its size; the aggregator still counts every row once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer

from imgpipe.config.settings import KafkaSettings
from imgpipe.contract.topics import RESULTS_TOPIC
from imgpipe.runtime.retrying import UNAVAILABLE

logger = logging.getLogger(__name__)


class FinishedRows:
    def __init__(self) -> None:
        self._finished: dict[str, int] = {}
        self._changed: dict[str, asyncio.Event] = {}

    def track(self, request_id: str, finished: int) -> None:
        """Count the request's results from now on, starting from `finished` rows."""
        self._finished[request_id] = max(finished, self._finished.get(request_id, 0))
        self._changed.setdefault(request_id, asyncio.Event())

    def untrack(self, request_id: str) -> None:
        self._finished.pop(request_id, None)
        self._changed.pop(request_id, None)

    def finished(self, request_id: str) -> int:
        return self._finished.get(request_id, 0)

    async def changed(self, request_id: str, timeout_s: float) -> None:
        """Return once a row of the request finished, or after `timeout_s`."""
        event = self._changed[request_id]
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)

    def count(self, keys: list[bytes | None]) -> None:
        for key in keys:
            request_id = key.decode() if key is not None else None
            if request_id in self._finished:
                self._finished[request_id] += 1
                self._changed[request_id].set()

    async def count_forever(self, kafka: KafkaSettings) -> None:
        """Read `imgpipe.results` from its end, for as long as the gateway runs."""
        while True:
            consumer = AIOKafkaConsumer(
                RESULTS_TOPIC.name,
                bootstrap_servers=kafka.kafka_bootstrap_servers,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="latest",
            )
            try:
                await consumer.start()
                while True:
                    batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                    for records in batches.values():
                        self.count([record.key for record in records])
            except UNAVAILABLE as error:
                logger.warning("cannot read imgpipe.results now: %r", error)
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()
