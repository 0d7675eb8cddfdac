"""Admit rows to `imgpipe.rows` at the pace they finish, in fair shares (gateway/publishing/fair_windows.py).

Each request this gateway publishes holds a window: how many of its rows may be published and
not yet finished. Its publisher sends a row while the window has room and otherwise waits for a
row of the request to finish (gateway/publishing/finished_rows.py). Windows are shared out again
whenever a request of this gateway starts or stops publishing, and after every walk of the unfinished
requests (gateway/publishing/unfinished_work.py calls `share_out`), which brings in the requests
other gateways publish.

With `IMGPIPE_SCHEDULED_ROWS` at 0 nothing waits: rows are published as fast as they are read.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.publishing.fair_windows import Demand, fair_windows
from gateway.publishing.finished_rows import FinishedRows
from gateway.publishing.unfinished_work import UnfinishedWork

# A window that has not moved for this long is re-counted from the aggregator's counters (the
# results read while this gateway was cut off from the broker are not seen).
RESYNC_AFTER_S = 5.0
REFILL_FRACTION = 8


class Window:
    """One request's share of the topic, as its publisher sees it."""

    def __init__(self, request_id: str, owner: str | None, rows_total: int, published: int) -> None:
        self.request_id = request_id
        self.owner = owner
        self.rows_total = rows_total
        self.published = published
        self.size = 1


class FairScheduler:
    def __init__(
        self,
        scheduled_rows: int,
        finished: FinishedRows,
        unfinished: UnfinishedWork,
        weight_of: Callable[[str | None], float],
    ) -> None:
        self._scheduled_rows = scheduled_rows
        self._finished = finished
        self._unfinished = unfinished
        self._weight_of = weight_of
        self._windows: dict[str, Window] = {}

    @property
    def enabled(self) -> bool:
        return self._scheduled_rows > 0

    def open(
        self, request_id: str, owner: str | None, rows_total: int, published: int, finished: int
    ) -> Window:
        """Start pacing a request that has `published` rows in the topic, `finished` of them done."""
        window = Window(request_id, owner, rows_total, published)
        self._windows[request_id] = window
        self._finished.track(request_id, finished)
        self.share_out()
        return window

    def close(self, window: Window) -> None:
        self._windows.pop(window.request_id, None)
        self._finished.untrack(window.request_id)
        self.share_out()

    def unfinished_in_topic(self, window: Window) -> int:
        return window.published - self._finished.finished(window.request_id)

    def has_room(self, window: Window) -> bool:
        return not self.enabled or self.unfinished_in_topic(window) < window.size

    def refill_due(self, window: Window) -> bool:
        """Whether a full window has room for a refill: an eighth of it, or the rows left. Rows
        go out in such bursts rather than one by one as results come in: a produce request and
        a wake-up per row cost the gateway CPU the processors beside it need."""
        burst = min(max(1, window.size // REFILL_FRACTION), window.rows_total - window.published)
        return not self.enabled or window.size - self.unfinished_in_topic(window) >= burst

    async def room(self, window: Window, timeout_s: float) -> None:
        """Return when the window may have room, or after `timeout_s`."""
        await self._finished.changed(window.request_id, timeout_s)

    def resync(self, window: Window, finished: int) -> None:
        """The aggregator counted `finished` rows: never fewer than that are done."""
        self._finished.track(window.request_id, finished)

    def share_out(self) -> None:
        if not self.enabled:
            return
        demands = {
            elsewhere.request_id: Demand(
                elsewhere.request_id,
                elsewhere.owner,
                self._weight_of(elsewhere.owner),
                elsewhere.rows_unfinished,
            )
            for elsewhere in self._unfinished.publishing
        }
        for window in self._windows.values():
            rows = window.rows_total - self._finished.finished(window.request_id)
            demands[window.request_id] = Demand(
                window.request_id, window.owner, self._weight_of(window.owner), rows
            )
        sizes = fair_windows(self._scheduled_rows, demands.values())
        for window in self._windows.values():
            window.size = sizes[window.request_id]
