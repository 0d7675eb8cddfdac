"""Kafka retention is chosen on purpose: the broker reports, for each imgpipe topic, the retention
its setting says, and a start on topics that exist already sets it without dropping what an
operator set on them."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from imgpipe.config.settings import Settings
from imgpipe.contract.topics import EVENTS, RESULTS, ROWS, ROWS_DLQ
from imgpipe.runtime.topic_admin import ensure_topics, topic_overrides
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

DAY_MS = 24 * 3600 * 1000


async def _overrides(settings: Settings) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        return await topic_overrides(admin, [ROWS, RESULTS, EVENTS, ROWS_DLQ])
    finally:
        await admin.close()


async def _alter(settings: Settings, topic: str, configs: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs)])
    finally:
        await admin.close()


async def test_the_topics_keep_messages_as_long_as_configured(stack: RunningStack) -> None:
    settings = stack.settings
    overrides = await _overrides(settings)
    expected_days = {
        ROWS: settings.kafka_rows_retention_days,
        RESULTS: settings.kafka_results_retention_days,
        EVENTS: settings.kafka_events_retention_days,
        ROWS_DLQ: settings.kafka_dlq_retention_days,
    }
    assert {topic: int(overrides[topic]["retention.ms"]) for topic in expected_days} == {
        topic: round(days * DAY_MS) for topic, days in expected_days.items()
    }
    assert expected_days == {ROWS: 7, RESULTS: 7, EVENTS: 7, ROWS_DLQ: 30}  # the documented defaults
    for topic in expected_days:
        assert int(overrides[topic]["segment.ms"]) <= int(overrides[topic]["retention.ms"])


async def test_a_start_sets_the_retention_of_existing_topics_and_keeps_an_operators_configs(
    stack: RunningStack,
) -> None:
    settings = stack.settings
    # An older release's topic: the broker's default retention, and a setting of the operator's.
    await _alter(settings, ROWS_DLQ, {"retention.ms": str(DAY_MS), "max.message.bytes": "2000000"})
    assert (await _overrides(settings))[ROWS_DLQ] == {
        "retention.ms": str(DAY_MS),
        "max.message.bytes": "2000000",
    }

    await ensure_topics(settings.kafka)  # what a gateway does at start

    dlq = (await _overrides(settings))[ROWS_DLQ]
    assert dlq["retention.ms"] == str(round(settings.kafka_dlq_retention_days * DAY_MS))
    assert dlq["max.message.bytes"] == "2000000"
