"""The webhook pipeline: imgpipe.events → each finished request's webhook, if it asked for one.

Several deliveries run at once: a slow or failing receiver holds up only its own
(aggregator/webhook.py signs, sends and retries them).
"""

from __future__ import annotations

import functools

import aiohttp
import faust

from aggregator.clients import AggregatorClients
from aggregator.webhook import WebhookPolicy, deliver_webhook, new_webhook_session
from aggregator.webhook_store import record_webhook_attempt, webhook_target
from imgpipe.config.destination_guard import DestinationGuard
from imgpipe.contract.topics import EVENTS_TOPIC
from imgpipe.runtime.faust_worker import handle_in_offset_order
from imgpipe.runtime.logs import logging_request
from imgpipe.runtime.retrying import until_available
from imgpipe.runtime.worker_clients import WorkerClients

WEBHOOK_CONCURRENCY = 4


async def _deliver_webhook_of(
    clients: AggregatorClients,
    session: aiohttp.ClientSession,
    guard: DestinationGuard,
    policy: WebhookPolicy,
    message: faust.EventT[bytes],
) -> None:
    body = message.value
    event = EVENTS_TOPIC.decode(body)
    url = await until_available(
        functools.partial(webhook_target, clients.db, event.request_id), "reading a webhook target"
    )
    if url is None:
        return
    record = functools.partial(record_webhook_attempt, clients.db, event.request_id)
    with logging_request(event.request_id):
        await deliver_webhook(session, guard, url, body, policy, record)


def add_webhook_pipeline(app: faust.App, clients: WorkerClients[AggregatorClients]) -> None:
    @app.agent(app.topic(EVENTS_TOPIC.name), name="deliver_webhooks")
    async def deliver_webhooks(stream: faust.StreamT[bytes]) -> None:
        aggregator = clients.current
        webhooks, guard = aggregator.webhooks, aggregator.webhook_guard
        policy = WebhookPolicy(
            webhooks.webhook_secret, webhooks.webhook_attempts, webhooks.webhook_retry_base_s
        )
        async with new_webhook_session(guard, webhooks.webhook_timeout_s) as session:
            handle = functools.partial(_deliver_webhook_of, aggregator, session, guard, policy)
            await handle_in_offset_order(stream, handle, WEBHOOK_CONCURRENCY)
