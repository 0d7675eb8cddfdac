"""The gateway: FastAPI app wiring settings, MongoDB, the Kafka producer, the storage and the routes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.api.api_keys import load_api_keys
from gateway.api.dependencies import GatewayState
from gateway.api.errors import install_error_handlers
from gateway.api.route_responses import INTERNAL_ERROR
from gateway.api.routes import health, images, metrics, presets, progress_events, requests, upload, web_page
from gateway.api.upload_limit import UploadSizeLimit
from gateway.api.upload_rate import UploadRate
from gateway.publishing.fair_scheduler import FairScheduler
from gateway.publishing.finished_rows import FinishedRows
from gateway.publishing.row_publisher import RowPublisher
from gateway.publishing.unfinished_work import UnfinishedWork
from imgpipe.config.settings import Settings, get_settings
from imgpipe.runtime.kafka import new_producer
from imgpipe.runtime.retrying import until_available
from imgpipe.runtime.topic_admin import ensure_topics
from imgpipe.state.database import connect, database
from imgpipe.storage.factory import open_storage


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Read now, not when the app starts serving: keys that cannot work stop it before it listens.
    api_keys = load_api_keys(settings.access, settings.limits, settings.lifecycle)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        storage = open_storage(settings.storage, settings.base_url)
        await until_available(storage.check, "checking the storage")
        client = connect(settings.database)
        db = database(client, settings.database)
        # Start even if a dependency is still coming up: wait for it rather than crash.
        await until_available(functools.partial(db.command, "ping"), "connecting to MongoDB")
        await until_available(functools.partial(ensure_topics, settings.kafka), "creating topics")
        producer = new_producer(settings.kafka)
        await until_available(producer.start, "connecting to Kafka")
        finished = FinishedRows()
        unfinished = UnfinishedWork(db)
        scheduler = FairScheduler(
            settings.scheduled_rows, finished, unfinished, lambda owner: api_keys.policy_of(owner).weight
        )
        publisher = RowPublisher(producer, db, storage, scheduler)
        background = [
            asyncio.create_task(publisher.resume_abandoned()),
            asyncio.create_task(finished.count_forever(settings.kafka)),
            asyncio.create_task(unfinished.refresh_forever(scheduler.share_out)),
        ]
        app.state.gateway = GatewayState(
            images=settings.images,
            limits=settings.limits,
            lifecycle=settings.lifecycle,
            base_url=settings.base_url,
            db=db,
            producer=producer,
            publisher=publisher,
            api_keys=api_keys,
            storage=storage,
            unfinished=unfinished,
            upload_rate=UploadRate(db),
        )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await publisher.stop()
            await producer.stop()
            await client.close()

    app = FastAPI(title="imgpipe", version="0.1.0", lifespan=lifespan, responses={500: INTERNAL_ERROR})
    install_error_handlers(app)
    app.add_middleware(UploadSizeLimit, max_bytes=settings.max_upload_bytes)
    for module in (upload, requests, progress_events, images, presets, health, metrics, web_page):
        app.include_router(module.router)
    app.mount("/web", web_page.web_files, name="web")
    return app
