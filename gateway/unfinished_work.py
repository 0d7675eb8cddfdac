"""The deployment's unfinished work by owner, as this gateway last saw it.

Every gateway walks the requests in flight once a second (imgpipe/unfinished_requests.py): a few
single-`_id` reads per unfinished request, never a cost that grows with the database. From that
walk come each owner's usage, which the upload limits are checked against, the requests that
other gateways are publishing, which the scheduler shares the topic with, and where each request
stands and how fast it goes (gateway/work_progress.py), which status calls and scrapes read.
Uploads this gateway accepted since the walk are added, so a burst into one gateway is counted at
once; a burst spread over several gateways within one second may pass a limit by what they accept
in that second.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from gateway.work_progress import RequestProgress, WorkProgress
from imgpipe.database import Document
from imgpipe.retrying import UNAVAILABLE
from imgpipe.unfinished_requests import InFlight, requests_in_flight

logger = logging.getLogger(__name__)

SCAN_INTERVAL_S = 1.0


@dataclass(frozen=True)
class OwnerUsage:
    unfinished_requests: int
    rows_unfinished: int


@dataclass(frozen=True)
class PublishingElsewhere:
    """A request whose rows are still being published, by whichever gateway."""

    request_id: str
    owner: str | None
    rows_unfinished: int


class UnfinishedWork:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self._requests: Counter[str | None] = Counter()
        self._rows: Counter[str | None] = Counter()
        self._publishing: list[PublishingElsewhere] = []
        # Uploads accepted while a walk runs: it may not have seen them, so they are added again
        # after it (for a second at most, one may count twice: a limit then errs on the safe side).
        self._accepted_during_walk: list[tuple[str | None, int]] = []
        self._progress = WorkProgress()

    def usage_of(self, owner: str | None) -> OwnerUsage:
        return OwnerUsage(self._requests[owner], self._rows[owner])

    def accepted(self, owner: str | None, rows: int) -> None:
        """An upload this gateway just accepted: counted until the next walk sees it."""
        self._requests[owner] += 1
        self._rows[owner] += rows
        self._accepted_during_walk.append((owner, rows))

    @property
    def publishing(self) -> list[PublishingElsewhere]:
        return self._publishing

    @property
    def progress(self) -> WorkProgress:
        """Where each request stands and how fast it goes, for status calls and scrapes."""
        return self._progress

    def _take(self, in_flight: list[InFlight]) -> None:
        self._requests = Counter(item.request["owner"] for item in in_flight)
        self._rows = Counter()
        for item in in_flight:
            self._rows[item.request["owner"]] += item.rows_unfinished
        self._publishing = [
            PublishingElsewhere(item.request["_id"], item.request["owner"], item.rows_unfinished)
            for item in in_flight
            if not item.fully_published()
        ]

    async def refresh(self) -> None:
        self._accepted_during_walk = []
        in_flight = await requests_in_flight(self._db)
        self._take(in_flight)
        self._progress.observe(RequestProgress.of(item) for item in in_flight)
        for owner, rows in self._accepted_during_walk:
            self._requests[owner] += 1
            self._rows[owner] += rows

    async def refresh_forever(self, after_walk: Callable[[], None]) -> None:
        while True:
            try:
                await self.refresh()
                after_walk()
            except UNAVAILABLE as error:
                logger.warning("cannot walk the requests in flight now: %r", error)
            except Exception:
                # Keep walking: a bug here must be visible, but must not freeze the limits for good.
                logger.exception("walking the requests in flight failed")
            await asyncio.sleep(SCAN_INTERVAL_S)
