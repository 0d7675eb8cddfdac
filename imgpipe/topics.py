"""Each topic bound once to its message model and its key, and the topics' creation and retention.

Every service and every downstream consumer uses these names. Producers encode and consumers
decode through a topic's `TopicSpec`, so no message is serialised or keyed by hand.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import BaseModel

from imgpipe.messages import DeadLetter, RequestEvent, RowMessage, RowResult
from imgpipe.row_key import RowKey
from imgpipe.settings import Settings

Message = TypeVar("Message", bound=BaseModel)

logger = logging.getLogger(__name__)

ROWS = "imgpipe.rows"
RESULTS = "imgpipe.results"
EVENTS = "imgpipe.events"
ROWS_DLQ = "imgpipe.rows.dlq"


def request_key(request_id: str) -> bytes:
    """Results and events are keyed per request so one aggregator owns a request, in order."""
    return request_id.encode()


@dataclass(frozen=True)
class TopicSpec(Generic[Message]):
    """A topic's name, the model of its messages (JSON on the wire) and how a message is keyed."""

    name: str
    model: type[Message]
    key: Callable[[Message], bytes | None]

    def encode(self, message: Message) -> tuple[bytes, bytes | None]:
        """(value, key) as they go on the wire."""
        return message.model_dump_json().encode(), self.key(message)

    def decode(self, value: bytes) -> Message:
        """The message in `value`; pydantic's ValidationError if it is not one."""
        return self.model.model_validate_json(value)


def _dead_letter_key(letter: DeadLetter) -> bytes | None:
    """A dead letter keeps the key of the message it holds (one partition: it orders nothing)."""
    return letter.key.encode() if letter.key is not None else None


ROWS_TOPIC = TopicSpec(ROWS, RowMessage, lambda message: RowKey(message.request_id, message.row).encode())
RESULTS_TOPIC = TopicSpec(RESULTS, RowResult, lambda result: request_key(result.request_id))
EVENTS_TOPIC = TopicSpec(EVENTS, RequestEvent, lambda event: request_key(event.request_id))
DEAD_LETTERS_TOPIC = TopicSpec(ROWS_DLQ, DeadLetter, _dead_letter_key)
TOPICS: tuple[TopicSpec[Any], ...] = (
    ROWS_TOPIC,
    RESULTS_TOPIC,
    EVENTS_TOPIC,
    DEAD_LETTERS_TOPIC,
)


def topic_partitions(settings: Settings) -> dict[str, int]:
    return {
        ROWS: settings.rows_partitions,
        RESULTS: settings.results_partitions,
        EVENTS: settings.events_partitions,
        ROWS_DLQ: 1,
    }


_DAY_MS = 24 * 3600 * 1000


def _retention(days: float) -> dict[str, str]:
    retention_ms = round(days * _DAY_MS)
    # Kafka deletes whole segments, once their newest message is past the retention, and rolls a
    # segment after segment.ms (7 days by default): without a shorter one a message would stay up
    # to retention + 7 days.
    return {"retention.ms": str(retention_ms), "segment.ms": str(min(retention_ms, _DAY_MS))}


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """The configs imgpipe sets on each topic: how long it keeps messages."""
    return {
        ROWS: _retention(settings.kafka_rows_retention_days),
        RESULTS: _retention(settings.kafka_results_retention_days),
        EVENTS: _retention(settings.kafka_events_retention_days),
        ROWS_DLQ: _retention(settings.kafka_dlq_retention_days),
    }


# DescribeConfigs says where each value comes from (version 1 and later, which every broker since
# Kafka 1.1 answers); this source is the topic's own config.
_TOPIC_OVERRIDE = 1


async def topic_overrides(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The configs set on each topic itself (not the broker's defaults)."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    overrides: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for _error_code, _error_message, _type, name, entries in response.resources:
            overrides[name] = {entry[0]: entry[1] for entry in entries if entry[3] == _TOPIC_OVERRIDE}
    return overrides


async def _apply_configs(admin: AIOKafkaAdminClient, wanted: dict[str, dict[str, str]]) -> None:
    """Set `wanted` on existing topics where they differ. AlterConfigs replaces a topic's whole set of
    overrides, so the ones an operator set are sent again with ours."""
    current = await topic_overrides(admin, list(wanted))
    changes = [
        ConfigResource(ConfigResourceType.TOPIC, name, {**current.get(name, {}), **configs})
        for name, configs in wanted.items()
        if any(current.get(name, {}).get(key) != value for key, value in configs.items())
    ]
    if changes:
        await admin.alter_configs(changes)
        for change in changes:
            logger.info("topic %s: set %s", change.name, wanted[change.name])


async def ensure_topics(settings: Settings) -> None:
    """Create any missing imgpipe topic with its configs, and set those configs on existing ones
    (partitions and replication of an existing topic are left as they are)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        configs = topic_configs(settings)
        missing = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=settings.topic_replication_factor,
                topic_configs=configs[name],
            )
            for name, partitions in topic_partitions(settings).items()
            if name not in existing
        ]
        # Another service may create them between our list and create: that is fine.
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        await _apply_configs(admin, {name: configs[name] for name in configs if name in existing})
    finally:
        await admin.close()
