"""The aggregator: four pipelines on one Faust app, sharing its clients (aggregator/clients.py).

- results (aggregator/results_pipeline.py): imgpipe.results → MongoDB (idempotent) → output CSV
  → imgpipe.events;
- webhooks (aggregator/webhook_pipeline.py): imgpipe.events → each request's webhook;
- repair (aggregator/repair_pipeline.py): on the group's leader, every few seconds, finishes
  requests whose completion was cut short and repairs requests that stalled;
- expiry (aggregator/expiry_pipeline.py): on the group's leader, deletes finished requests at the
  end of their retention.
"""

from __future__ import annotations

import functools

import faust

from aggregator.clients import open_aggregator_clients
from aggregator.expiry_pipeline import add_expiry_pipeline
from aggregator.repair_pipeline import add_repair_pipeline
from aggregator.results_pipeline import add_results_pipeline
from aggregator.webhook_pipeline import add_webhook_pipeline
from imgpipe.config.settings import Settings
from imgpipe.runtime.faust_app import new_faust_app
from imgpipe.runtime.worker_clients import WorkerClients


def create_aggregator_app(settings: Settings) -> faust.App:
    clients = WorkerClients(functools.partial(open_aggregator_clients, settings))
    app = new_faust_app("imgpipe-aggregator", settings.kafka, settings.process, clients)
    add_results_pipeline(app, clients)
    add_webhook_pipeline(app, clients)
    add_repair_pipeline(app, clients)
    add_expiry_pipeline(app, clients)
    return app
