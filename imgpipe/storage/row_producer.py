"""The one producer of `imgpipe.rows` messages: a request's rows read back from its input spool,
each built into its message and sent in batches built here, a batch per partition.

Two callers, one way: the gateway publishes every row from its checkpoint on, paced by the fair
scheduler and checkpointed (gateway/publishing/row_publisher.py), and the aggregator's repair
publishes again the rows of a stalled request that have no outcome, at once
(aggregator/repair_pipeline.py). Either way a row has the same message, key and partition.

aiokafka's `send()` costs about 20 µs of Python per message (partitioning, futures, batching);
filling a `BatchBuilder` and handing over whole batches costs about 2 µs. Measured on the bench
machine: 50,000 vs 600,000 messages/s, and it decides how fast a million-row upload is
accepted. The keys stay `request_id:row`; only the partition is chosen here, not hashed from
the key.

A row's partition follows its image URLs (a hash of them), not its place in the upload: the
same row uploaded again reaches the same partition, and so the worker that remembers the
source-cache entries it wrote for it (processors/source_cache.py), however the scheduler paced
the rows in between; the rows of even a small request, and of many one-image requests, spread
over every partition, and so over every worker.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from imgpipe.contract.messages import RowMessage
from imgpipe.contract.presets import Preset
from imgpipe.contract.repeated_urls import RepeatedUrls
from imgpipe.contract.request_presets import presets_of
from imgpipe.contract.topics import ROWS_TOPIC
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.input_spool import ProductRow, read_input_spool


@dataclass(frozen=True)
class RowContext:
    """What every row message of one request carries besides its row: the JPEG quality its
    outputs are encoded at, the presets whose variants are made beside them, its owner (outputs
    and the source cache are scoped per owner), its retention (its outputs are stored by period of
    that length), and, when the publisher read the upload itself, which URLs appear in more than
    one row."""

    quality: int
    owner: str | None
    repeated_urls: RepeatedUrls | None = None
    retention_s: float | None = None
    presets: tuple[Preset, ...] = ()

    @classmethod
    def of_request(cls, request: Mapping[str, Any]) -> RowContext:
        quality, owner = int(request["quality"]), request.get("owner")
        retention_s = request.get("retention_s")
        presets = tuple(presets_of(request))
        return cls(quality=quality, owner=owner, retention_s=retention_s, presets=presets)


def row_message(request_id: str, index: int, row: ProductRow, context: RowContext) -> RowMessage:
    """The `imgpipe.rows` message of the spool's row number `index` (0-based)."""
    return RowMessage(
        request_id=request_id,
        row=index,
        serial_number=row.serial_number,
        product_name=row.product_name,
        input_urls=list(row.input_urls),
        quality=context.quality,
        owner=context.owner,
        retention_s=context.retention_s,
        presets=list(context.presets) or None,
        urls_in_other_rows=(
            None if context.repeated_urls is None else context.repeated_urls.positions_in(row.input_urls)
        ),
    )


async def spooled_row_messages(
    storage: ObjectStorage,
    request_id: str,
    context: RowContext,
    start: int = 0,
    only: Collection[int] | None = None,
) -> AsyncIterator[RowMessage]:
    """The messages of the request's spooled rows from row `start` to the end (`only` those rows,
    when given), in input order, streamed from storage."""
    async for index, row in read_input_spool(storage, request_id, start):
        if only is None or index in only:
            yield row_message(request_id, index, row, context)


def row_partition(message: RowMessage, partitions: list[int]) -> int:
    return partitions[zlib.crc32("\n".join(message.input_urls).encode()) % len(partitions)]


class RowProducer:
    """Sends row messages to `imgpipe.rows` in batches of its own, each row to its partition."""

    def __init__(self, producer: AIOKafkaProducer, partitions: list[int]) -> None:
        self._producer = producer
        self._partitions = partitions
        self._batches: dict[int, BatchBuilder] = {}
        self._deliveries: list[asyncio.Future[object]] = []

    @classmethod
    async def of(cls, producer: AIOKafkaProducer) -> RowProducer:
        """Rows sent through `producer` (started), spread over every partition of `imgpipe.rows`."""
        return cls(producer, sorted(await producer.partitions_for(ROWS_TOPIC.name)))

    async def send(self, message: RowMessage) -> None:
        """Add the row to its partition's batch, handed over once full (or by `hand_over`)."""
        value, key = ROWS_TOPIC.encode(message)
        partition = row_partition(message, self._partitions)
        batch = self._batches.get(partition)
        if batch is None or batch.append(key=key, value=value, timestamp=None) is None:
            if batch is not None:
                await self._hand_over(partition, batch)
            batch = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a row message of {len(value)} bytes does not fit in a producer batch")
            self._batches[partition] = batch

    async def _hand_over(self, partition: int, batch: BatchBuilder) -> None:
        self._batches.pop(partition, None)
        self._deliveries.append(await self._producer.send_batch(batch, ROWS_TOPIC.name, partition=partition))

    async def hand_over(self) -> None:
        """Hand every partly filled batch to the producer."""
        for partition, batch in list(self._batches.items()):
            await self._hand_over(partition, batch)

    async def delivered(self) -> None:
        """Hand over what is pending and wait until the broker has acknowledged every row so far."""
        await self.hand_over()
        await asyncio.gather(*self._deliveries)
        self._deliveries.clear()
