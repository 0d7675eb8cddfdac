"""The HTTP API's Prometheus metrics, served at GET /metrics with every other of the process
(the rows published are counted where they are, gateway/publishing/row_publisher.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge

from gateway.api.errors import ApiError
from imgpipe.runtime.retrying import UNAVAILABLE

UPLOADS = Counter("imgpipe_uploads_total", "Uploads, by outcome: accepted or the error code", ["outcome"])
UPLOADS_REFUSED = Counter(
    "imgpipe_uploads_refused_total",
    "Uploads refused with 429, by owner (the key's owner id, or open) and the limit crossed",
    ["owner", "limit"],
)
# The metric keeps the name dashboards know.
REQUESTS_UNFINISHED = Gauge(
    "imgpipe_requests_in_flight", "Requests queued or processing (read at scrape time)"
)


@contextmanager
def counted_upload() -> Iterator[None]:
    try:
        yield
    except ApiError as error:
        UPLOADS.labels(error.code).inc()
        raise
    except UNAVAILABLE:
        UPLOADS.labels("dependency_unavailable").inc()
        raise
    UPLOADS.labels("accepted").inc()
