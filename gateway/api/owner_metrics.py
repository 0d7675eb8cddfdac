"""Each owner's rows waiting, published and unfinished, and finished, exposed at scrape time from the
last walk.

The figures are the deployment's, as this gateway's walk of the unfinished requests saw them (at
most a second ago), so every gateway shows the same ones: add them up across owners, never across
gateways. They are written into a registry of their own at each scrape because they are a view of
the walk's snapshot, not something the gateway's code counts as it goes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.api.api_keys import OPEN_OWNER
from gateway.publishing.work_progress import OwnerRows


class _OwnerRowsCollector(Collector):
    def __init__(self, rows: Mapping[str | None, OwnerRows]) -> None:
        self._rows = rows

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "imgpipe_key_rows_waiting",
            "Rows of the owner's requests accepted and not yet published",
            labels=["owner"],
        )
        # The metric keeps the name dashboards know, older than the code's "published and unfinished".
        published_unfinished = GaugeMetricFamily(
            "imgpipe_key_rows_in_flight",
            "Rows of the owner's requests published and not yet finished",
            labels=["owner"],
        )
        finished = CounterMetricFamily(
            "imgpipe_key_rows_finished",
            "Rows of the owner's requests seen finishing by this gateway's walks since it started",
            labels=["owner"],
        )
        for owner, rows in self._rows.items():
            label = [owner if owner is not None else OPEN_OWNER]
            waiting.add_metric(label, rows.rows_waiting)
            published_unfinished.add_metric(label, rows.rows_published_unfinished)
            finished.add_metric(label, rows.rows_finished)
        yield from (waiting, published_unfinished, finished)


def owner_rows_exposition(rows: Mapping[str | None, OwnerRows]) -> bytes:
    """The per-owner metrics in Prometheus text format, to append to the process registry's."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_OwnerRowsCollector(rows))
    return generate_latest(registry)
