"""Send rows to Kafka in batches the gateway builds itself, one partition per batch, in turn.

aiokafka's `send()` costs about 20 µs of Python per message (partitioning, futures, batching);
filling a `BatchBuilder` and handing over whole batches costs about 2 µs. Measured on the bench
machine: 50,000 vs 600,000 messages/s, and it decides how fast a million-row upload is
accepted. The keys stay `request_id:row`; only the partition is chosen here, not hashed from
the key. Batches hold at most an even share of the rows, so even a small request is spread over
every partition, and so over every worker.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random

from aiokafka import AIOKafkaProducer

from imgpipe.messages import RowMessage
from imgpipe.topics import ROWS_TOPIC


class RowBatchSender:
    def __init__(self, producer: AIOKafkaProducer, partitions: list[int], rows: int) -> None:
        self._producer = producer
        # From a random partition: a stream of one-row requests must not all land on the first.
        first = random.randrange(len(partitions))
        self._partitions = itertools.cycle(partitions[first:] + partitions[:first])
        self._rows_per_batch = max(1, math.ceil(rows / len(partitions)))
        self._batch = producer.create_batch()
        self._in_batch = 0
        self._deliveries: list[asyncio.Future[object]] = []

    async def send(self, message: RowMessage) -> None:
        value, key = ROWS_TOPIC.encode(message)
        if self._in_batch >= self._rows_per_batch or not self._append(key, value):
            await self.hand_over()
            if not self._append(key, value):
                raise ValueError(f"a row message of {len(value)} bytes does not fit in a producer batch")
        self._in_batch += 1

    def _append(self, key: bytes | None, value: bytes) -> bool:
        return self._batch.append(key=key, value=value, timestamp=None) is not None

    async def hand_over(self) -> None:
        if self._in_batch:
            partition = next(self._partitions)
            self._deliveries.append(
                await self._producer.send_batch(self._batch, ROWS_TOPIC.name, partition=partition)
            )
            self._batch = self._producer.create_batch()
            self._in_batch = 0

    async def delivered(self) -> None:
        """Hand over what is pending and wait until the broker has acknowledged every row so far."""
        await self.hand_over()
        await asyncio.gather(*self._deliveries)
        self._deliveries.clear()
