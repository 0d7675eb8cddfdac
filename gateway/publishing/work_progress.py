"""Where each unfinished request stands and how fast it goes, from the walks of the unfinished requests.

Pure: gateway/publishing/unfinished_work.py feeds it every walk it makes (once a second), so a status call or
a scrape reads what the last walk saw and never touches the database. What a request waits behind
is the rows of the other requests that are published and not yet finished: they share the
processors with its own (gateway/publishing/fair_windows.py), so with scheduling on they are about
IMGPIPE_SCHEDULED_ROWS, however large the batches before it. How fast it goes is measured, not
predicted: its rows finished per second between walks, over the last RATE_WINDOW_S.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from imgpipe.state.unfinished_requests import UnfinishedRequest

# Long enough to smooth the aggregator's batched counting, short enough to follow a share that
# changes as other requests come and go.
RATE_WINDOW_S = 10.0


@dataclass(frozen=True)
class RequestProgress:
    """One unfinished request as one walk saw it."""

    request_id: str
    owner: str | None
    rows_total: int
    # The publishing checkpoint (at most a second behind the broker); 0 before the first.
    rows_published: int
    rows_finished: int

    @classmethod
    def of(cls, item: UnfinishedRequest) -> RequestProgress:
        published = item.publishing["rows_published"] if item.publishing is not None else 0
        return cls(
            item.request["_id"],
            item.request["owner"],
            item.request["rows_total"],
            published,
            item.state.rows_finished,
        )

    @property
    def rows_waiting(self) -> int:
        """Accepted and not yet published."""
        return self.rows_total - self.rows_published

    @property
    def rows_published_unfinished(self) -> int:
        """Published and not yet finished; rows published since the checkpoint may finish first."""
        return max(0, self.rows_published - self.rows_finished)


@dataclass(frozen=True)
class QueuePosition:
    rows_ahead: int
    rows_waiting: int
    # From the walk's time, so that it stays the same until the next walk; None until the request
    # finishes rows at a measurable rate.
    estimated_finish_at: datetime | None


@dataclass(frozen=True)
class OwnerRows:
    rows_waiting: int
    rows_published_unfinished: int
    # Rows of the owner's requests seen finishing since this gateway started: a counter.
    rows_finished: int


def finish_rate(samples: Sequence[tuple[float, int]]) -> float | None:
    """Rows finished per second from the oldest to the newest (time, rows finished) sample."""
    if len(samples) < 2:
        return None
    (first_at, first_rows), (last_at, last_rows) = samples[0], samples[-1]
    if last_at <= first_at:
        return None
    return (last_rows - first_rows) / (last_at - first_at)


def seconds_to_finish(rows_left: int, rate: float | None) -> float | None:
    """None while nothing finishes: a request waiting for its first rows has no pace yet."""
    if rate is None or rate <= 0:
        return None
    return rows_left / rate


def rows_newly_finished(before: RequestProgress | None, after: RequestProgress | None) -> int:
    """Rows a request finished between two walks; one gone from the walk has finished all its rows."""
    if after is None:
        return before.rows_total - before.rows_finished if before is not None else 0
    return max(0, after.rows_finished - (before.rows_finished if before is not None else 0))


class WorkProgress:
    # The wall clock rather than a monotonic one: the estimate is a time of day for the client.
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._walked_at = 0.0
        self._requests: dict[str, RequestProgress] = {}
        self._samples: dict[str, deque[tuple[float, int]]] = {}
        self._rows_published_unfinished = 0
        self._finished_by_owner: defaultdict[str | None, int] = defaultdict(int)

    def observe(self, walk: Iterable[RequestProgress]) -> None:
        """Take one walk: every unfinished request at the time of `clock()`."""
        now = self._walked_at = self._clock()
        requests = {progress.request_id: progress for progress in walk}
        for request_id, after in requests.items():
            self._finished_by_owner[after.owner] += rows_newly_finished(self._requests.get(request_id), after)
        for request_id, before in self._requests.items():
            if request_id not in requests:
                self._finished_by_owner[before.owner] += rows_newly_finished(before, None)
        self._samples = {request_id: self._samples.get(request_id, deque()) for request_id in requests}
        for request_id, samples in self._samples.items():
            samples.append((now, requests[request_id].rows_finished))
            while now - samples[0][0] > RATE_WINDOW_S:
                samples.popleft()
        self._requests = requests
        self._rows_published_unfinished = sum(
            progress.rows_published_unfinished for progress in requests.values()
        )

    def queue_position(self, request_id: str) -> QueuePosition | None:
        """None for a request the last walk did not see (finished, or accepted since)."""
        progress = self._requests.get(request_id)
        if progress is None:
            return None
        rows_left = progress.rows_total - progress.rows_finished
        seconds = seconds_to_finish(rows_left, finish_rate(self._samples[request_id]))
        return QueuePosition(
            rows_ahead=self._rows_published_unfinished - progress.rows_published_unfinished,
            rows_waiting=progress.rows_waiting,
            estimated_finish_at=(
                None if seconds is None else datetime.fromtimestamp(self._walked_at + seconds, UTC)
            ),
        )

    def by_owner(self) -> dict[str | None, OwnerRows]:
        """Every owner seen since this gateway started, at 0 once it has nothing unfinished."""
        waiting: defaultdict[str | None, int] = defaultdict(int)
        published_unfinished: defaultdict[str | None, int] = defaultdict(int)
        for progress in self._requests.values():
            waiting[progress.owner] += progress.rows_waiting
            published_unfinished[progress.owner] += progress.rows_published_unfinished
        return {
            owner: OwnerRows(waiting[owner], published_unfinished[owner], finished)
            for owner, finished in self._finished_by_owner.items()
        }
