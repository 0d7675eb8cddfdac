"""The deployment's unfinished work by owner, as this gateway last saw it.

Every gateway walks the unfinished requests once a second (imgpipe/state/unfinished_requests.py): a few
single-`_id` reads per unfinished request, never a cost that grows with the database. From that
walk come each owner's usage, which the upload limits are checked against, the requests that
other gateways are publishing, which the scheduler shares the topic with, and where each request
stands and how fast it goes (gateway/publishing/work_progress.py), which status calls and scrapes read.
Uploads this gateway accepted are added until a walk sees them, so a burst into one gateway is
counted at once; a burst spread over several gateways within one second may pass a limit by what
they accept in that second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from gateway.publishing.work_progress import RequestProgress, WorkProgress
from imgpipe.runtime.retrying import UNAVAILABLE
from imgpipe.state.database import REQUESTS, UNFINISHED_REQUESTS, Document
from imgpipe.state.unfinished_requests import UnfinishedRequest, walk_unfinished_requests

logger = logging.getLogger(__name__)

SCAN_INTERVAL_S = 1.0
PENDING_FOR_AT_MOST_S = 60.0


@dataclass(frozen=True)
class OwnerUsage:
    unfinished_requests: int
    # Each row counted once per output it asks for (imgpipe/contract/request_presets.py), as the limits count.
    rows_unfinished: int


@dataclass(frozen=True)
class _Pending:
    owner: str | None
    rows: int
    at: float  # time.monotonic() when accepted


@dataclass(frozen=True)
class PublishingElsewhere:
    """A request whose rows are still being published, by whichever gateway."""

    request_id: str
    owner: str | None
    rows_unfinished: int


async def finished_unseen(db: AsyncDatabase[Document], request_id: str) -> bool:
    """Whether a request no walk saw has finished already: it exists, but not among the unfinished
    requests (a request is marked unfinished before it is inserted)."""
    if await UNFINISHED_REQUESTS.of(db).find_one({"_id": request_id}) is not None:
        return False
    return await REQUESTS.of(db).find_one({"_id": request_id}, {"_id": 1}) is not None


class UnfinishedWork:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self._requests: Counter[str | None] = Counter()
        self._rows: Counter[str | None] = Counter()
        self._publishing: list[PublishingElsewhere] = []
        # Uploads this gateway accepted that no walk has seen yet, by request id.
        self._pending: dict[str, _Pending] = {}
        self._progress = WorkProgress()

    def usage_of(self, owner: str | None) -> OwnerUsage:
        return OwnerUsage(self._requests[owner], self._rows[owner])

    def accepted(self, request_id: str, owner: str | None, rows: int) -> None:
        """An upload this gateway just accepted: counted here until a walk sees it."""
        self._pending[request_id] = _Pending(owner, rows, time.monotonic())
        self._requests[owner] += 1
        self._rows[owner] += rows

    def withdrawn(self, request_id: str) -> None:
        """An upload counted by `accepted` and then refused or failed: it is not coming."""
        pending = self._pending.pop(request_id, None)
        if pending is not None:
            self._requests[pending.owner] -= 1
            self._rows[pending.owner] -= pending.rows

    @property
    def publishing(self) -> list[PublishingElsewhere]:
        return self._publishing

    @property
    def progress(self) -> WorkProgress:
        """Where each request stands and how fast it goes, for status calls and scrapes."""
        return self._progress

    def _take(self, unfinished: list[UnfinishedRequest]) -> None:
        self._requests = Counter(item.request["owner"] for item in unfinished)
        self._rows = Counter()
        for item in unfinished:
            self._rows[item.request["owner"]] += item.outputs_unfinished
        self._publishing = [
            PublishingElsewhere(item.request["_id"], item.request["owner"], item.rows_unfinished)
            for item in unfinished
            if not item.fully_published()
        ]

    async def refresh(self) -> None:
        unfinished = await walk_unfinished_requests(self._db)
        self._take(unfinished)
        self._progress.observe(RequestProgress.of(item) for item in unfinished)
        seen = {item.request["_id"] for item in unfinished}
        # An upload that failed without saying so is forgotten after a while.
        forgotten_before = time.monotonic() - PENDING_FOR_AT_MOST_S
        self._pending = {
            request_id: pending
            for request_id, pending in self._pending.items()
            if request_id not in seen
            and pending.at >= forgotten_before
            and not await finished_unseen(self._db, request_id)
        }
        for pending in self._pending.values():
            self._requests[pending.owner] += 1
            self._rows[pending.owner] += pending.rows

    async def refresh_forever(self, after_walk: Callable[[], None]) -> None:
        while True:
            try:
                await self.refresh()
                after_walk()
            except UNAVAILABLE as error:
                logger.warning("cannot walk the unfinished requests now: %r", error)
            except Exception:
                # Keep walking: a bug here must be visible, but must not freeze the limits for good.
                logger.exception("walking the unfinished requests failed")
            await asyncio.sleep(SCAN_INTERVAL_S)
