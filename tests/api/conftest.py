"""The in-process tier: the gateway's own app (`create_app`) called through httpx's ASGI
transport, with no server, broker or database.

The app's lifespan, which connects to MongoDB, Kafka and the storage, is not run. In its place
the gateway's state is made of the same clients, built but never connected, aimed at a loopback
port where nothing listens: an answer that reached the broker or the database would be a 503
after a timeout, never the status a test expects. So only what the gateway decides before any
dependency is tested here (validation, routing, authentication, size limits); everything else
is in tests/integration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.api.api_keys import load_api_keys
from gateway.api.dependencies import GatewayState
from gateway.api.upload_rate import UploadRate
from gateway.app import create_app
from gateway.publishing.fair_scheduler import FairScheduler
from gateway.publishing.finished_rows import FinishedRows
from gateway.publishing.row_publisher import RowPublisher
from gateway.publishing.unfinished_work import UnfinishedWork
from imgpipe.config.settings import Settings
from imgpipe.runtime.kafka import new_producer
from imgpipe.state.database import connect, database
from imgpipe.storage.factory import open_storage

# Nothing listens on port 1 (and only root could make something listen there).
NOWHERE = "127.0.0.1:1"
MAX_UPLOAD_BYTES = 2_000_000
BASE_URL = "http://gateway.test"
API_KEYS = ("key-alice", "key-bob")


@asynccontextmanager
async def in_process_gateway(
    tmp_path: Path, api_keys: tuple[str, ...] = (), **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, GatewayState]]:
    """A client of the gateway, and the gateway's state; `settings` change the tier's own."""
    config = Settings(
        kafka_bootstrap_servers=NOWHERE,
        mongodb_url=f"mongodb://{NOWHERE}/",
        storage_url=f"file://{tmp_path / 'store'}",
        max_upload_bytes=MAX_UPLOAD_BYTES,
        public_base_url=BASE_URL,
        api_keys=api_keys,
        **settings,
    )
    app = create_app(config)
    storage = open_storage(config.storage, config.base_url)
    client = connect(config.database)
    db = database(client, config.database)
    producer = new_producer(config.kafka)
    unfinished = UnfinishedWork(db)
    scheduler = FairScheduler(config.scheduled_rows, FinishedRows(), unfinished, lambda owner: 1.0)
    state = app.state.gateway = GatewayState(
        images=config.images,
        limits=config.limits,
        lifecycle=config.lifecycle,
        base_url=config.base_url,
        db=db,
        producer=producer,
        publisher=RowPublisher(producer, db, storage, scheduler),
        api_keys=load_api_keys(config.access, config.limits, config.lifecycle),
        storage=storage,
        unfinished=unfinished,
        upload_rate=UploadRate(db),
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30) as http:
            yield http, state
    finally:
        await producer.stop()
        await client.close()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an open gateway (no API keys)."""
    async with in_process_gateway(tmp_path) as (http, _):
        yield http


@pytest.fixture
async def keyed_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway with IMGPIPE_API_KEYS set."""
    async with in_process_gateway(tmp_path, api_keys=API_KEYS) as (http, _):
        yield http
