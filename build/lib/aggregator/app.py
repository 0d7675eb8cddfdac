"""The aggregator: imgpipe.results → MongoDB (idempotent) → output CSV → imgpipe.events.

It also repairs requests that stalled (see aggregator/repair.py), once every few seconds, on
one aggregator instance (the group's leader).

Results are keyed by request id, so each request lives on one partition and is owned by one
aggregator instance at a time. Results are taken in small batches so MongoDB sees one round of
writes per request per batch instead of one per row.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from typing import Any, cast

import aiohttp
import faust
from faust.streams import Stream
from prometheus_client import Counter
from pydantic import ValidationError

from aggregator.completion import finish_request
from aggregator.repair import repair_request, stalled_request_ids
from aggregator.result_store import apply_results
from aggregator.tally import OffsetResult
from aggregator.webhook import WebhookPolicy, deliver_webhook, new_webhook_session
from aggregator.webhook_store import record_webhook_attempt, webhook_target
from imgpipe.database import Document, connect, database, ensure_indexes
from imgpipe.destination_guard import DestinationGuard
from imgpipe.faust_app import new_faust_app
from imgpipe.faust_worker import handle_in_offset_order
from imgpipe.input_spool import input_spool_path, read_input_spool, row_message
from imgpipe.kafka import SharedProducer
from imgpipe.logs import logging_request
from imgpipe.messages import RequestEvent, RowResult
from imgpipe.request_paths import request_dir
from imgpipe.retrying import UNAVAILABLE, until_available, until_done
from imgpipe.settings import get_settings
from imgpipe.topics import EVENTS, RESULTS, ROWS, request_key, row_key

logger = logging.getLogger(__name__)

REQUESTS_FINISHED = Counter(
    "imgpipe_requests_finished_total", "Requests finished, by final status", ["status"]
)

BATCH_MAX_RESULTS = 500
BATCH_WAIT_S = 0.02
REPAIR_SCAN_INTERVAL_S = 5.0
WEBHOOK_CONCURRENCY = 4

settings = get_settings()
app = new_faust_app("imgpipe-aggregator", settings)
results_topic = app.topic(RESULTS)
events_topic = app.topic(EVENTS)
producer = SharedProducer(settings)
webhook_policy = WebhookPolicy(
    settings.webhook_secret, settings.webhook_attempts, settings.webhook_retry_base_s
)
mongo = connect(settings)
db = database(mongo, settings)


async def publish_event(event: RequestEvent) -> None:
    value, key = event.model_dump_json().encode(), request_key(event.request_id)
    await until_available(lambda: producer.send_and_wait(EVENTS, value, key), "publishing an event")
    REQUESTS_FINISHED.labels(event.status.value).inc()
    logger.info("request %s finished: %s", event.request_id, event.status)


async def aggregate_request(request_id: str, items: list[OffsetResult]) -> None:
    """Idempotent as a whole, so it is simply run again after a database outage."""
    with logging_request(request_id):
        await _aggregate_request_logged(request_id, items)


async def _aggregate_request_logged(request_id: str, items: list[OffsetResult]) -> None:
    request = await apply_results(db, request_id, items)
    if request is None:
        logger.warning("results for unknown request %s ignored", request_id)
        return
    await finish_request(db, settings, request, publish_event)


async def republish_rows(request_id: str, rows: Sequence[int]) -> None:
    wanted = set(rows)
    spool = input_spool_path(request_dir(settings.processed_images_dir, request_id))
    for index, row in enumerate(read_input_spool(spool)):
        if index in wanted:
            send = functools.partial(
                producer.send_and_wait,
                ROWS,
                row_message(request_id, index, row).model_dump_json().encode(),
                row_key(request_id, index),
            )
            await until_available(send, "publishing a row again")


async def finish_repaired(request: Document) -> None:
    await finish_request(db, settings, request, publish_event)


@app.timer(interval=REPAIR_SCAN_INTERVAL_S, on_leader=True)  # type: ignore[untyped-decorator]
async def repair_stalled_requests() -> None:
    try:
        stalled = await stalled_request_ids(db, settings.stall_seconds)
    except UNAVAILABLE as error:
        logger.warning("cannot look for stalled requests now: %r", error)
        return
    for request_id in stalled:
        with logging_request(request_id):
            try:
                await repair_request(db, request_id, republish_rows, finish_repaired)
            except UNAVAILABLE as error:
                logger.warning("cannot repair request %s now: %r", request_id, error)
            except Exception:
                # The next scan tries again; a bug here must be visible, and must not keep the
                # other stalled requests from being repaired.
                logger.exception("repairing stalled request %s failed", request_id)


@app.agent(results_topic)
async def aggregate_results(stream: faust.StreamT[bytes]) -> None:
    await ensure_indexes(db)
    # take_events exists on the concrete Stream but is missing from Faust's StreamT interface.
    batches = cast(Stream[bytes], stream).take_events(BATCH_MAX_RESULTS, within=BATCH_WAIT_S)
    async for events in batches:
        by_request: defaultdict[str, list[OffsetResult]] = defaultdict(list)
        for event in events:
            try:
                result = RowResult.model_validate_json(event.value)
            except ValidationError as error:
                # Not a result any processor wrote: nothing in it can be counted.
                logger.error("undecodable result at offset %d skipped: %s", event.message.offset, error)
                continue
            by_request[result.request_id].append(OffsetResult(event.message.offset, result))
        # Faust acknowledges the whole batch once this loop body ends or raises, so every
        # request's results are recorded before that, however long it takes.
        for request_id, items in by_request.items():
            await until_done(
                functools.partial(aggregate_request, request_id, items), f"recording results of {request_id}"
            )


async def _deliver_webhook_of(
    session: aiohttp.ClientSession, guard: DestinationGuard, message: faust.EventT[bytes]
) -> None:
    body = message.value
    event = RequestEvent.model_validate_json(body)
    url = await until_available(
        functools.partial(webhook_target, db, event.request_id), "reading a webhook target"
    )
    if url is None:
        return
    record = functools.partial(record_webhook_attempt, db, event.request_id)
    with logging_request(event.request_id):
        await deliver_webhook(session, guard, url, body, webhook_policy, record)


@app.agent(events_topic)
async def deliver_webhooks(stream: faust.StreamT[bytes]) -> None:
    """Several deliveries at once: a slow or failing receiver holds up only its own."""
    guard = DestinationGuard(settings.fetch_allowlist)
    async with new_webhook_session(guard, settings.webhook_timeout_s) as session:
        handle = functools.partial(_deliver_webhook_of, session, guard)
        await handle_in_offset_order(stream, handle, WEBHOOK_CONCURRENCY)


@app.on_before_shutdown.connect
def _stop_producer(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> Awaitable[None]:
    return producer.stop()
