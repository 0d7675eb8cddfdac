"""The aggregator: imgpipe.results → MongoDB (idempotent) → output CSV → imgpipe.events.

It also looks after the requests in flight (aggregator/repair.py), once every few seconds, on
one aggregator instance (the group's leader): it finishes requests whose completion was cut
short and repairs requests that stalled.

Results are keyed by request id, so each request lives on one partition and is owned by one
aggregator instance at a time. Results are taken in batches so MongoDB sees one round of writes
per request per batch instead of one per row. Finishing a request runs in the background
(aggregator/finisher.py), so counting goes on for the others meanwhile.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import faust
from faust.streams import Stream
from prometheus_client import Counter
from pydantic import ValidationError

from aggregator.completion import finish_request, ready_to_finish
from aggregator.finisher import Finisher
from aggregator.repair import repair_request, requests_in_flight, stalled_requests
from aggregator.result_store import ChunkCompactor, apply_results
from aggregator.tally import OffsetResult
from aggregator.webhook import WebhookPolicy, deliver_webhook, new_webhook_session
from aggregator.webhook_store import record_webhook_attempt, webhook_target
from imgpipe.database import REQUESTS, RequestDocument, connect, database
from imgpipe.destination_guard import DestinationGuard
from imgpipe.faust_app import new_faust_app
from imgpipe.faust_worker import handle_in_offset_order
from imgpipe.input_spool import RowContext, read_input_spool, row_message
from imgpipe.kafka import SharedProducer
from imgpipe.logs import logging_request
from imgpipe.messages import RequestEvent, RowResult
from imgpipe.request_state import RequestState, latest_state, request_state
from imgpipe.retrying import UNAVAILABLE, until_available, until_done
from imgpipe.row_key import RowKey
from imgpipe.settings import get_settings
from imgpipe.storage.factory import open_storage
from imgpipe.topics import EVENTS, RESULTS, ROWS, request_key

logger = logging.getLogger(__name__)

REQUESTS_FINISHED = Counter(
    "imgpipe_requests_finished_total", "Requests finished, by final status", ["status"]
)

BATCH_MAX_RESULTS = 2_000
BATCH_WAIT_S = 0.02
IN_FLIGHT_SCAN_INTERVAL_S = 5.0
WEBHOOK_CONCURRENCY = 4
# Requests whose request document and latest state are remembered between batches: a batch then
# costs its row writes and one insert of the next state, and no reads of the request.
KNOWN_REQUESTS = 10_000

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
storage = open_storage(settings)
# A remembered state may be stale (another instance counted meanwhile): moving the state from it
# fails on the unique version `_id` and re-reads (imgpipe/request_state.py), so it is only a hint.
known_requests: OrderedDict[str, tuple[RequestDocument, RequestState]] = OrderedDict()
compactor = ChunkCompactor()


async def publish_event(event: RequestEvent) -> None:
    value, key = event.model_dump_json().encode(), request_key(event.request_id)
    await until_available(lambda: producer.send_and_wait(EVENTS, value, key), "publishing an event")
    REQUESTS_FINISHED.labels(event.status.value).inc()
    logger.info("request %s finished: %s", event.request_id, event.status)


async def finish_latest(request: RequestDocument, state: RequestState) -> RequestState:
    # Re-read first: the request may have been finished since it was handed over.
    latest = await latest_state(db, request["_id"], state.version)
    final = await finish_request(db, storage, settings, request, latest, publish_event)
    if final.finished:
        known_requests.pop(request["_id"], None)
    return final


finisher = Finisher(finish_latest)


async def _known_request(request_id: str) -> tuple[RequestDocument, RequestState] | None:
    known = known_requests.get(request_id)
    if known is not None:
        known_requests.move_to_end(request_id)
        return known
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    if request is None:
        return None
    return request, await request_state(db, request)


def _remember(request: RequestDocument, state: RequestState) -> None:
    known_requests[request["_id"]] = (request, state)
    known_requests.move_to_end(request["_id"])
    while len(known_requests) > KNOWN_REQUESTS:
        known_requests.popitem(last=False)


async def aggregate_request(request_id: str, items: list[OffsetResult]) -> None:
    """Idempotent as a whole, so it is simply run again after a database outage."""
    with logging_request(request_id):
        known = await _known_request(request_id)
        if known is None:
            logger.warning("results for unknown request %s ignored", request_id)
            return
        request, head = known
        state = await apply_results(db, request, head, items, compactor)
        _remember(request, state)
        if ready_to_finish(request, state):
            finisher.start(request, state)


async def republish_rows(request: RequestDocument, rows: Sequence[int]) -> None:
    request_id, wanted = request["_id"], set(rows)
    context = RowContext.of_request(request)
    async for index, row in read_input_spool(storage, request_id):
        if index in wanted:
            send = functools.partial(
                producer.send_and_wait,
                ROWS,
                row_message(request_id, index, row, context).model_dump_json().encode(),
                RowKey(request_id, index).encode(),
            )
            await until_available(send, "publishing a row again")


async def finish_repaired(request: RequestDocument, state: RequestState) -> None:
    finisher.start(request, state)


@app.timer(interval=IN_FLIGHT_SCAN_INTERVAL_S, on_leader=True)  # type: ignore[untyped-decorator]
async def look_after_requests_in_flight() -> None:
    try:
        in_flight = await requests_in_flight(db)
    except UNAVAILABLE as error:
        logger.warning("cannot look at the requests in flight now: %r", error)
        return
    for item in in_flight:
        if ready_to_finish(item.request, item.state):
            finisher.start(item.request, item.state)
    for item in stalled_requests(in_flight, settings.stall_seconds, datetime.now(UTC)):
        request_id = item.request["_id"]
        with logging_request(request_id):
            try:
                await repair_request(db, item, republish_rows, finish_repaired)
            except UNAVAILABLE as error:
                logger.warning("cannot repair request %s now: %r", request_id, error)
            except Exception:
                # The next scan tries again; a bug here must be visible, and must not keep the
                # other stalled requests from being repaired.
                logger.exception("repairing stalled request %s failed", request_id)


@app.agent(results_topic)
async def aggregate_results(stream: faust.StreamT[bytes]) -> None:
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
async def _stop_clients(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
    await finisher.stop()
    await producer.stop()
