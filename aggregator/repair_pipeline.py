"""The repair pipeline: every few seconds, on one aggregator instance (the group's leader), the
unfinished requests are looked at (aggregator/repair.py). Requests whose completion was cut short
are finished; requests that stalled are repaired, their missing rows published again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import faust

from aggregator.clients import AggregatorClients
from aggregator.completion import ready_to_finish
from aggregator.repair import repair_request, stalled_requests
from imgpipe.runtime.logs import logging_request
from imgpipe.runtime.retrying import UNAVAILABLE, until_available
from imgpipe.runtime.worker_clients import WorkerClients
from imgpipe.state.database import RequestDocument
from imgpipe.state.request_state import RequestState
from imgpipe.state.unfinished_requests import walk_unfinished_requests
from imgpipe.storage.row_producer import RowContext, RowProducer, spooled_row_messages

logger = logging.getLogger(__name__)

UNFINISHED_SCAN_INTERVAL_S = 5.0


async def _send_rows_again(clients: AggregatorClients, request: RequestDocument, rows: set[int]) -> None:
    producer = await RowProducer.of(await clients.producer.started())
    async for message in spooled_row_messages(
        clients.storage, request["_id"], RowContext.of_request(request), only=rows
    ):
        await producer.send(message)
    await producer.delivered()


async def republish_rows(clients: AggregatorClients, request: RequestDocument, rows: Sequence[int]) -> None:
    """Publish the rows again, at once, as the gateway publishes rows; an unavailable broker is
    waited out, and the rows are then all sent again (a row sent twice is counted once)."""
    await until_available(
        functools.partial(_send_rows_again, clients, request, set(rows)), "publishing rows again"
    )


async def _finish_repaired(clients: AggregatorClients, request: RequestDocument, state: RequestState) -> None:
    clients.finisher.start(request, state)


async def look_after_unfinished_requests(clients: AggregatorClients) -> None:
    try:
        unfinished = await walk_unfinished_requests(clients.db)
    except UNAVAILABLE as error:
        logger.warning("cannot look at the unfinished requests now: %r", error)
        return
    for item in unfinished:
        if ready_to_finish(item.request, item.state):
            clients.finisher.start(item.request, item.state)
    clients.stuck_requests.report(unfinished, clients.lifecycle, datetime.now(UTC))

    for item in stalled_requests(unfinished, clients.lifecycle.stall_seconds, datetime.now(UTC)):
        request_id = item.request["_id"]
        with logging_request(request_id):
            try:
                republish = functools.partial(republish_rows, clients)
                finish = functools.partial(_finish_repaired, clients)
                await repair_request(clients.db, item, republish, finish)
            except UNAVAILABLE as error:
                logger.warning("cannot repair request %s now: %r", request_id, error)
            except Exception:
                # The next scan tries again; a bug here must be visible, and must not keep the
                # other stalled requests from being repaired.
                logger.exception("repairing stalled request %s failed", request_id)


def add_repair_pipeline(app: faust.App, clients: WorkerClients[AggregatorClients]) -> None:
    @app.timer(  # type: ignore[untyped-decorator]
        interval=UNFINISHED_SCAN_INTERVAL_S, on_leader=True, name="look_after_unfinished_requests"
    )
    async def look_after_requests() -> None:
        await look_after_unfinished_requests(clients.current)
