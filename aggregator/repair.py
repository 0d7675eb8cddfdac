"""Unfinished requests, looked after: finished when counted, repaired when stalled.

The aggregator's leader walks the unfinished requests (imgpipe/state/unfinished_requests.py) every few
seconds. A request whose rows are all counted but which is not finished (its aggregator crashed
while finishing it) is finished. A request with no progress for `IMGPIPE_STALL_SECONDS` is
repaired.

Results are counted incrementally (aggregator/tally.py), which is exact as long as Kafka hands
every message over once in offset order, at least. Should a row message or a result ever go
missing on the way, or a row's outcome be lost (FerretDB loses concurrent updates to one
document: see imgpipe/state/database.py), the request would wait forever. So a stalled request is
repaired: its counters are recomputed from its stored rows (first writer wins), and rows that
have no outcome are published again. Both steps are idempotent; a repair is logged and counted in
the request's state (`repairs`). Nothing is repaired while any request makes progress: the
pipeline is then busy, not losing work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from aggregator.tally import tally_of_rows
from imgpipe.contract.messages import NO_COUNTS
from imgpipe.state.database import Document, RequestDocument
from imgpipe.state.request_state import RequestState, advance_state, with_counters
from imgpipe.state.row_outcomes import chunks_in_order
from imgpipe.state.unfinished_requests import UnfinishedRequest

logger = logging.getLogger(__name__)

RepublishRows = Callable[[RequestDocument, Sequence[int]], Awaitable[None]]
FinishRequest = Callable[[RequestDocument, RequestState], Awaitable[None]]


def stalled_requests(
    unfinished: Iterable[UnfinishedRequest], stall_seconds: float, now: datetime
) -> list[UnfinishedRequest]:
    """Fully published requests with no progress for `stall_seconds`; none while any request makes
    progress, since a request queued behind a large one only waits its turn. A repaired request
    is left alone for another stall period: its republished rows need time."""
    cutoff = now - timedelta(seconds=stall_seconds)
    requests = list(unfinished)
    if any(item.progressed_at() >= cutoff for item in requests):
        return []
    return [
        item
        for item in requests
        if item.fully_published() and (item.state.repaired_at is None or item.state.repaired_at < cutoff)
    ]


async def repair_request(
    db: AsyncDatabase[Document], item: UnfinishedRequest, republish: RepublishRows, finish: FinishRequest
) -> None:
    request_id, seen = item.request["_id"], item.state
    tally, highest_offset, missing = NO_COUNTS, seen.results_offset, list[int]()
    # Chunk by chunk: a million-row request is never held whole.
    async for rows, outcomes in chunks_in_order(db, request_id, item.request["rows_total"]):
        tally += tally_of_rows(outcomes.values())
        # Every result up to the highest stored one is now reflected in the counters: the
        # results agent skips those (its counted mark), so none is counted twice.
        highest_offset = max([highest_offset, *(outcome.result_offset for outcome in outcomes.values())])
        missing.extend(row for row in rows if row not in outcomes)

    def repaired(head: RequestState) -> RequestState | None:
        if head.version != seen.version:
            return None  # results were counted meanwhile: not stalled after all
        return with_counters(
            head,
            tally,
            results_offset=highest_offset,
            repairs=head.repairs + 1,
            repaired_at=datetime.now(UTC),
        )

    state = await advance_state(db, request_id, seen, repaired)
    if state.version == seen.version:
        return
    logger.warning(
        "repaired stalled request %s: counters %s -> %s, %d row(s) without a result published again",
        request_id,
        seen.counts(),
        tally.counts(),
        len(missing),
    )
    if missing:
        await republish(item.request, missing)
    await finish(item.request, state)
