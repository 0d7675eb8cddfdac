"""What the aggregator's four pipelines share: its clients and the state it keeps per process.

Opened when the aggregator app starts and closed once its agents and timers have stopped
(imgpipe/runtime/worker_clients.py): finishing in the background first, then the producer, then the
MongoDB client. A bundle because these open and close together; it holds the parts of the
settings the pipelines read (lifecycle, webhooks), never the whole settings.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase

from aggregator.completion import finish_request
from aggregator.finisher import Finisher
from aggregator.known_requests import KnownRequests
from aggregator.result_store import ChunkCompactor
from aggregator.stuck_requests import StuckRequests
from imgpipe.config.destination_guard import DestinationGuard
from imgpipe.config.settings import LifecycleSettings, Settings, WebhookSettings
from imgpipe.contract.messages import RequestEvent
from imgpipe.contract.topics import EVENTS_TOPIC
from imgpipe.runtime.kafka import SharedProducer
from imgpipe.state.database import Document, RequestDocument, connect, database
from imgpipe.state.expiry_queue import ExpiryQueue
from imgpipe.state.request_state import RequestState, latest_state
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.factory import open_storage

logger = logging.getLogger(__name__)

REQUESTS_FINISHED = Counter(
    "imgpipe_requests_finished_total", "Requests finished, by final status", ["status"]
)


@dataclass(frozen=True)
class AggregatorClients:
    lifecycle: LifecycleSettings
    webhooks: WebhookSettings
    webhook_guard: DestinationGuard  # where deliveries may go: where fetching may
    db: AsyncDatabase[Document]
    storage: ObjectStorage
    producer: SharedProducer
    known_requests: KnownRequests
    compactor: ChunkCompactor
    finisher: Finisher
    expiry_queue: ExpiryQueue
    stuck_requests: StuckRequests


async def publish_event(producer: SharedProducer, event: RequestEvent) -> None:
    await producer.publish(EVENTS_TOPIC, event, "publishing an event")
    REQUESTS_FINISHED.labels(event.status.value).inc()
    logger.info("request %s finished: %s", event.request_id, event.status)


async def _finish_latest(
    db: AsyncDatabase[Document],
    storage: ObjectStorage,
    base_url: str,
    lifecycle: LifecycleSettings,
    producer: SharedProducer,
    known_requests: KnownRequests,
    expiry_queue: ExpiryQueue,
    request: RequestDocument,
    state: RequestState,
) -> RequestState:
    # Re-read first: the request may have been finished since it was handed over.
    latest = await latest_state(db, request["_id"], state.version)
    final = await finish_request(
        db,
        storage,
        base_url,
        lifecycle,
        request,
        latest,
        functools.partial(publish_event, producer),
        expiry_queue,
    )
    if final.finished:
        known_requests.forget(request["_id"])
    return final


@asynccontextmanager
async def open_aggregator_clients(settings: Settings) -> AsyncIterator[AggregatorClients]:
    async with AsyncExitStack() as stack:
        mongo = connect(settings.database)
        stack.push_async_callback(mongo.close)
        producer = SharedProducer(settings.kafka)
        stack.push_async_callback(producer.stop)
        db, storage, known_requests = (
            database(mongo, settings.database),
            open_storage(settings.storage, settings.base_url),
            KnownRequests(),
        )
        expiry_queue = ExpiryQueue(db)
        finisher = Finisher(
            functools.partial(
                _finish_latest,
                db,
                storage,
                settings.base_url,
                settings.lifecycle,
                producer,
                known_requests,
                expiry_queue,
            )
        )
        stack.push_async_callback(finisher.stop)
        yield AggregatorClients(
            settings.lifecycle,
            settings.webhooks,
            DestinationGuard(settings.fetch_allowlist),
            db,
            storage,
            producer,
            known_requests,
            ChunkCompactor(),
            finisher,
            expiry_queue,
            StuckRequests(),
        )
