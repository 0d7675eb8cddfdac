"""The workers' Faust apps use imgpipe's Kafka transport, whose consumer long-polls briefly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faust
import pytest

from aggregator.app import create_aggregator_app
from imgpipe.config.settings import Settings
from imgpipe.runtime.faust_transport import FETCH_MAX_WAIT_MS, Transport
from processors.app import create_processor_app


@pytest.mark.asyncio
@pytest.mark.parametrize("create_worker_app", [create_processor_app, create_aggregator_app])
async def test_a_worker_consumer_waits_at_most_the_short_long_poll(
    tmp_path: Path, create_worker_app: Callable[[Settings], faust.App]
) -> None:
    settings = Settings(state_dir=tmp_path, kafka_bootstrap_servers="127.0.0.1:1")
    app = create_worker_app(settings)
    # Found through the package's `faust.transports` entry point: a missing one fails here.
    assert isinstance(app.transport, Transport)
    thread = app.consumer._thread
    consumer = thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == FETCH_MAX_WAIT_MS
    finally:
        await consumer.stop()
