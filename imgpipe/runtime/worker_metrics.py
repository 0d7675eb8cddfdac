"""What every Faust worker exposes to Prometheus: its consumer lag, on its own port."""

from __future__ import annotations

import faust
from prometheus_client import Gauge, start_http_server

CONSUMER_LAG = Gauge(
    "imgpipe_consumer_lag",
    "Messages on the partition not yet committed by this worker's consumer group",
    ["group", "topic", "partition"],
)
LAG_INTERVAL_S = 5.0
# The label sets this worker reported last time: the partitions it owned then.
_reported: set[tuple[str, str, str]] = set()


def expose_worker_metrics(app: faust.App, port: int | None) -> None:
    """Serve /metrics from a background thread (nothing when no port is configured), and have
    the worker report its consumer lag there every few seconds."""
    if port is None:
        return
    start_http_server(port)

    @app.timer(interval=LAG_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def report_consumer_lag() -> None:
        await record_consumer_lag(app)


async def record_consumer_lag(app: faust.App) -> None:
    """Lag = the partition's end offset minus the group's committed offset, per partition this
    worker owns. (Faust keeps the committed offsets in `_committed_offset` only; none committed
    yet counts from 0, where a new group starts.)"""
    consumer = app.consumer
    highwaters = await consumer.highwaters(*consumer.assignment())
    lags = {}
    for tp, highwater in highwaters.items():
        committed = consumer._committed_offset[tp] or 0  # type: ignore[attr-defined]
        lags[(app.conf.id, tp.topic, str(tp.partition))] = max(0, highwater - committed)
    # Set first, then drop the partitions that moved to another worker: a scrape in between
    # never finds the gauge empty.
    for labels, lag in lags.items():
        CONSUMER_LAG.labels(*labels).set(lag)
    for labels in _reported - lags.keys():
        CONSUMER_LAG.remove(*labels)
    _reported.clear()
    _reported.update(lags.keys())
