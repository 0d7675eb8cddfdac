"""The expiry pipeline: on the group's leader, every `BUCKET_S` seconds, what is due is deleted.

It walks the expiry queue's buckets (imgpipe/state/expiry_queue.py) from the cursor to the last settled
one: each entry's request is expired, or its tombstone forgotten (aggregator/expiry.py); then the
bucket's entries are deleted and the cursor moves past it. Then the output periods no request
can use any more are deleted (aggregator/output_expiry.py), and the collections kept by period
that are out of use are dropped (aggregator/period_collection_expiry.py). A pass cut short (a kill, an outage)
leaves the cursor where the work is not known to be done, and the next pass does it again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import faust
from pymongo import DeleteOne

from aggregator.clients import AggregatorClients
from aggregator.expiry import expire_request, forget_request
from aggregator.output_expiry import expire_legacy_outputs, expire_output_periods, oldest_unfinished
from aggregator.period_collection_expiry import drop_out_of_use_collections
from imgpipe.runtime.logs import logging_request
from imgpipe.runtime.retrying import UNAVAILABLE
from imgpipe.runtime.worker_clients import WorkerClients
from imgpipe.state.database import EXPIRY_QUEUE
from imgpipe.state.expiry_queue import (
    BUCKET_S,
    QueuedExpiry,
    cursor_bucket,
    last_settled_bucket,
    move_cursor,
    queued_in,
)
from imgpipe.state.unfinished_requests import unfinished_requests

logger = logging.getLogger(__name__)

RETRY_FAILED_AFTER = timedelta(minutes=10)


async def _handle_entry(clients: AggregatorClients, entry: QueuedExpiry, now: datetime) -> None:
    if entry.due == "expire":
        await expire_request(
            clients.db,
            clients.storage,
            clients.lifecycle,
            clients.expiry_queue,
            entry.request_id,
            now,
        )
    else:
        await forget_request(clients.db, clients.lifecycle, entry.request_id, now)


async def _handle_bucket(clients: AggregatorClients, bucket: int, now: datetime) -> bool:
    """Everything due in `bucket`; whether it held anything."""
    entries = await queued_in(clients.db, bucket)
    for entry in entries:
        with logging_request(entry.request_id):
            try:
                await _handle_entry(clients, entry, now)
            except UNAVAILABLE:
                raise  # the whole pass waits for the database or the storage
            except Exception:
                # A bug, or a request stored in a shape nobody expected: visible, tried again
                # later, and not in the way of the rest of the queue.
                logger.exception("expiring request %s failed; trying again later", entry.request_id)
                await clients.expiry_queue.add(entry.request_id, now + RETRY_FAILED_AFTER, entry.due)
    if entries:
        await EXPIRY_QUEUE.of(clients.db).bulk_write(
            [DeleteOne({"_id": entry.entry_id}) for entry in entries]
        )
    return bool(entries)


async def _expire_queued(clients: AggregatorClients, now: datetime) -> None:
    bucket, last = await cursor_bucket(clients.db), last_settled_bucket(now)
    while bucket <= last:
        held = await _handle_bucket(clients, bucket, now)
        bucket += 1
        # An empty bucket moves the cursor only at the end of the pass: one write, not one per
        # ten seconds of an idle day.
        if held or bucket > last:
            await move_cursor(clients.db, bucket)


async def expire_what_is_due(clients: AggregatorClients) -> None:
    now = datetime.now(UTC)
    try:
        await _expire_queued(clients, now)
        oldest = oldest_unfinished(await unfinished_requests(clients.db), clients.lifecycle)
        await expire_output_periods(clients.db, clients.storage, oldest, now)
        await expire_legacy_outputs(clients.db, clients.storage, clients.lifecycle, oldest, now)
        await drop_out_of_use_collections(clients.db, now)
    except UNAVAILABLE as error:
        logger.warning("cannot expire requests now: %r", error)
    except Exception:
        # The next pass tries again from the cursor; a bug here must be visible.
        logger.exception("expiring requests failed")


def add_expiry_pipeline(app: faust.App, clients: WorkerClients[AggregatorClients]) -> None:
    @app.timer(interval=BUCKET_S, on_leader=True, name="expire_what_is_due")  # type: ignore[untyped-decorator]
    async def expire() -> None:
        await expire_what_is_due(clients.current)
