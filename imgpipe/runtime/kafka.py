"""The Kafka producer every imgpipe service publishes with, and the one way a worker publishes."""

from __future__ import annotations

import asyncio
import functools
from typing import TypeVar

from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from imgpipe.config.settings import KafkaSettings
from imgpipe.contract.topics import TopicSpec
from imgpipe.runtime.retrying import until_available

Message = TypeVar("Message", bound=BaseModel)


def new_producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    # Idempotent with acks=all: a retried send is never written twice and a message counts as
    # sent only once every in-sync replica has it. linger_ms lets a burst of rows share batches.
    return AIOKafkaProducer(
        bootstrap_servers=kafka.kafka_bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


class SharedProducer:
    """One producer per worker process, started on first use (inside the worker's event loop) and
    stopped with the worker's clients; messages go out through `publish`, except rows, which go in
    batches of their own (`started`, imgpipe/storage/row_producer.py)."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = new_producer(self._kafka)
                await producer.start()
                self._producer = producer
            return self._producer

    async def _send_and_wait(self, topic: str, value: bytes, key: bytes | None) -> None:
        producer = await self.started()
        await producer.send_and_wait(topic, value, key=key)

    async def publish(self, topic: TopicSpec[Message], message: Message, what: str) -> None:
        """`message` on `topic`, once the broker has acknowledged it; an unavailable broker is waited
        out (logged as "`what` failed …"), so the caller never acknowledges what it has not published."""
        value, key = topic.encode(message)
        await until_available(functools.partial(self._send_and_wait, topic.name, value, key), what)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
