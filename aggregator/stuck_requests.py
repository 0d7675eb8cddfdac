"""Requests unfinished for longer than their retention: reported, never deleted.

Expiry deletes only finished requests, so a request that never finishes would be kept forever
without anyone noticing. The leader's scan of the unfinished requests (aggregator/repair_pipeline.py)
hands them here: each is logged once as it becomes stuck, and `imgpipe_requests_stuck` counts them.
An operator looks at why (the repair path, the DLQ) rather than having the request vanish.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from prometheus_client import Gauge

from imgpipe.config.settings import LifecycleSettings
from imgpipe.state.retention import retention_of
from imgpipe.state.unfinished_requests import UnfinishedRequest

logger = logging.getLogger(__name__)

REQUESTS_STUCK = Gauge(
    "imgpipe_requests_stuck",
    "Unfinished requests accepted longer ago than their retention (never expired; look at them)",
)


class StuckRequests:
    def __init__(self) -> None:
        self._reported: set[str] = set()

    def report(
        self, unfinished: Sequence[UnfinishedRequest], lifecycle: LifecycleSettings, now: datetime
    ) -> None:
        stuck = {
            item.request["_id"]: item
            for item in unfinished
            if item.request["created_at"] + retention_of(item.request, lifecycle) <= now
        }
        for request_id in stuck.keys() - self._reported:
            item = stuck[request_id]
            logger.warning(
                "request %s is unfinished %s after it was accepted, longer than its retention: it is "
                "not expired while unfinished (%d of %d rows finished, status %s)",
                request_id,
                now - item.request["created_at"],
                item.state.rows_finished,
                item.request["rows_total"],
                item.state.status,
            )
        self._reported = set(stuck)
        REQUESTS_STUCK.set(len(stuck))
