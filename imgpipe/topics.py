"""Topic names and their creation. Every service and every downstream consumer uses these names."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from imgpipe.settings import Settings

ROWS = "imgpipe.rows"
RESULTS = "imgpipe.results"
EVENTS = "imgpipe.events"
ROWS_DLQ = "imgpipe.rows.dlq"


def request_key(request_id: str) -> bytes:
    """Results and events are keyed per request so one aggregator owns a request, in order."""
    return request_id.encode()


def topic_partitions(settings: Settings) -> dict[str, int]:
    return {
        ROWS: settings.rows_partitions,
        RESULTS: settings.results_partitions,
        EVENTS: settings.events_partitions,
        ROWS_DLQ: 1,
    }


async def ensure_topics(settings: Settings) -> None:
    """Create any missing imgpipe topic; existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=settings.topic_replication_factor,
            )
            for name, partitions in topic_partitions(settings).items()
            if name not in existing
        ]
        # Another service may create them between our list and create: that is fine.
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
