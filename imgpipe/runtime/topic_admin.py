"""The topics' creation, partitions and retention, through the Kafka admin API.

The topics themselves (names, models, keys) are the contract, in imgpipe/contract/topics.py; how
many partitions they have and how long they keep messages is the operator's, from the settings.
"""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from imgpipe.config.settings import KafkaSettings
from imgpipe.contract.topics import EVENTS, RESULTS, ROWS, ROWS_DLQ

logger = logging.getLogger(__name__)


def topic_partitions(kafka: KafkaSettings) -> dict[str, int]:
    return {
        ROWS: kafka.rows_partitions,
        RESULTS: kafka.results_partitions,
        EVENTS: kafka.events_partitions,
        ROWS_DLQ: 1,
    }


_DAY_MS = 24 * 3600 * 1000


def _retention(days: float) -> dict[str, str]:
    retention_ms = round(days * _DAY_MS)
    # Kafka deletes whole segments, once their newest message is past the retention, and rolls a
    # segment after segment.ms (7 days by default): without a shorter one a message would stay up
    # to retention + 7 days.
    return {"retention.ms": str(retention_ms), "segment.ms": str(min(retention_ms, _DAY_MS))}


def topic_configs(kafka: KafkaSettings) -> dict[str, dict[str, str]]:
    """The configs imgpipe sets on each topic: how long it keeps messages."""
    return {
        ROWS: _retention(kafka.kafka_rows_retention_days),
        RESULTS: _retention(kafka.kafka_results_retention_days),
        EVENTS: _retention(kafka.kafka_events_retention_days),
        ROWS_DLQ: _retention(kafka.kafka_dlq_retention_days),
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


async def ensure_topics(kafka: KafkaSettings) -> None:
    """Create any missing imgpipe topic with its configs, and set those configs on existing ones
    (partitions and replication of an existing topic are left as they are)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        configs = topic_configs(kafka)
        missing = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=kafka.topic_replication_factor,
                topic_configs=configs[name],
            )
            for name, partitions in topic_partitions(kafka).items()
            if name not in existing
        ]
        # Another service may create them between our list and create: that is fine.
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        await _apply_configs(admin, {name: configs[name] for name in configs if name in existing})
    finally:
        await admin.close()
