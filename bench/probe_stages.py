"""Where a one-image request's time goes, stage by stage, from the services' own timestamps.

For each probe (bench/latency.py): from the start of its upload to its row message on
imgpipe.rows (the gateway's accepting and publishing), to its result on imgpipe.results (the
producer's linger, the processor's fetch, its queue and its work), to the `completed_at` of its
final state (the aggregator: the result fetched, the row stored and counted, the output CSV
written), to the client seeing `completed` (the final state's writes and the status polls). The
record timestamps are those the producers gave (CreateTime), and every process shares this
machine's clock. `processing_ms` is the processor's own `duration_ms` of the row, inside
`row_to_result_ms`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.latency import Probe, percentile
from bench.topic_records import records_since, topic_ends
from imgpipe.config.settings import Settings
from imgpipe.contract.topics import RESULTS, ROWS


async def _ends(settings: Settings) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        return {
            **await topic_ends(consumer, ROWS, settings.rows_partitions),
            **await topic_ends(consumer, RESULTS, settings.results_partitions),
        }
    finally:
        await consumer.stop()


def topics_now(settings: Settings) -> dict[TopicPartition, int]:
    """Where imgpipe.rows and imgpipe.results end, before the probes: their records come after."""
    return asyncio.run(_ends(settings))


def stages_ms(
    settings: Settings, since: dict[TopicPartition, int], probes: Sequence[Probe]
) -> dict[str, float]:
    """Each stage's median over `probes`, in ms, from their records written after `since`."""
    records = asyncio.run(records_since(settings.kafka_bootstrap_servers, since))
    wanted = {probe.status["request_id"] for probe in probes}
    first: dict[tuple[str, str], tuple[float, dict[str, object]]] = {}  # (topic, request id): s, value
    for record in sorted(records, key=lambda record: record.timestamp):
        value = json.loads(record.value or b"{}")
        if value.get("request_id") in wanted:
            first.setdefault((record.topic, value["request_id"]), (record.timestamp / 1000, value))
    stages: dict[str, list[float]] = {}
    for probe in probes:
        request_id = probe.status["request_id"]
        row_at, _ = first[(ROWS, request_id)]
        result_at, result = first[(RESULTS, request_id)]
        completed_at = _epoch_seconds(str(probe.status["completed_at"]))
        for name, seconds in (
            ("upload_to_row_ms", row_at - probe.started_at),
            ("row_to_result_ms", result_at - row_at),
            ("processing_ms", float(str(result["duration_ms"])) / 1000),
            ("result_to_completed_ms", completed_at - result_at),
            ("completed_to_seen_ms", probe.started_at + probe.seconds - completed_at),
        ):
            stages.setdefault(name, []).append(1000 * seconds)
    return {name: percentile(samples, 0.5) for name, samples in stages.items()}


def _epoch_seconds(iso: str) -> float:
    moment = datetime.fromisoformat(iso)
    # The database gives back naive datetimes, in UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
