"""The Kafka producer every imgpipe service publishes with."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from imgpipe.settings import Settings


def new_producer(settings: Settings) -> AIOKafkaProducer:
    # Idempotent with acks=all: a retried send is never written twice and a message counts as
    # sent only once every in-sync replica has it. linger_ms lets a burst of rows share batches.
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
