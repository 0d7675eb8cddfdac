"""What a failed integration test prints besides its assertion: enough to tell, from a CI log
alone, whether rows were never processed (and on which partitions) or never counted."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from devstack.consumer_groups import PROCESSORS_GROUP
from devstack.sync_run import run_sync
from imgpipe.config.settings import Settings
from imgpipe.contract.topics import RESULTS, ROWS

CONSUMER_GROUPS = (PROCESSORS_GROUP, "imgpipe-aggregator")

# Lines worth seeing from a service log: problems, and the consumer group's rebalances.
NOTABLE_LOG_LINE = re.compile(
    r"WARNING|ERROR|CRITICAL|Traceback|crash|[Rr]evok|newly assigned|Joined group|generation id changed",
)
NOTABLE_LINES_PER_LOG = 25


def pending_rows_report(base_url: str, request_id: str, headers: dict[str, str] | None) -> str:
    """Which rows have no result yet, on which `imgpipe.rows` partitions they sit, and whether
    their results reached `imgpipe.results`."""
    try:
        response = httpx.get(
            f"{base_url}/status/{request_id}", params={"rows": "true"}, headers=headers, timeout=30
        )
        details: list[dict[str, Any]] = response.json().get("row_details") or []
    except (httpx.HTTPError, ValueError) as error:
        return f"pending rows unknown: {error!r}"
    pending = {row["row"] for row in details if row["status"] == "pending"}
    report = f"{len(pending)} pending row(s)"
    if pending:
        try:
            report += "; " + run_sync(_kafka_report(request_id, pending))
        except Exception as error:  # a diagnostic must never hide the failure it explains
            report += f"; kafka diagnostics failed: {error!r}"
    return report


async def _kafka_report(request_id: str, pending: set[int]) -> str:
    """Where the pending rows sit on the rows topic (the partition the gateway chose, as found on
    the topic: imgpipe/storage/row_producer.py picks it from the row's URLs, not from the key),
    whether their results reached the results topic, and how far behind each consumer group is, per
    partition."""
    settings = Settings()
    bootstrap = settings.kafka_bootstrap_servers
    rows_partitions: dict[int, set[int]] = {}  # partition: pending rows found on it
    with_result: set[int] = set()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic, count in ((ROWS, settings.rows_partitions), (RESULTS, settings.results_partitions))
            for partition in range(count)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
                for message in messages:
                    try:
                        value = json.loads(message.value or b"")
                    except ValueError:
                        continue
                    if value.get("request_id") != request_id or value.get("row") not in pending:
                        continue
                    if tp.topic == ROWS:
                        rows_partitions.setdefault(tp.partition, set()).add(value["row"])
                    else:
                        with_result.add(value["row"])
    finally:
        await consumer.stop()
    lags = await _group_lags(bootstrap, ends)
    on_rows = {partition: sorted(rows)[:10] for partition, rows in sorted(rows_partitions.items())}
    missing = sorted(pending - set().union(*rows_partitions.values()))
    return (
        f"pending rows by {ROWS} partition (first 10 each): {on_rows}; "
        f"not on {ROWS}: {missing[:20]}; with a result on {RESULTS}: {sorted(with_result)[:20]}; "
        f"group lag per partition (committed/end): {lags}"
    )


async def _group_lags(bootstrap: str, ends: dict[TopicPartition, int]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        lags = {}
        for group in CONSUMER_GROUPS:
            committed = await admin.list_consumer_group_offsets(group)
            lags[group] = {
                f"{tp.topic}[{tp.partition}]": f"{committed[tp].offset}/{end}"
                for tp, end in sorted(ends.items())
                if tp in committed and committed[tp].offset != end
            }
        return lags
    finally:
        await admin.close()


def notable_log_lines(logs_dir: Path) -> str:
    """The last notable lines of every service log of a test stack."""
    sections = []
    for log in sorted(logs_dir.glob("*.log")):
        if log.name in ("kafka.log", "mongodb.log"):
            continue
        lines = [
            line[:300]
            for line in log.read_text(errors="replace").splitlines()
            if NOTABLE_LOG_LINE.search(line)
        ]
        if lines:
            sections.append(f"--- {log.name}\n" + "\n".join(lines[-NOTABLE_LINES_PER_LOG:]))
    return "\n".join(sections) or "no notable lines in the service logs"
