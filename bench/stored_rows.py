"""Requests staged straight into the database through the store's own functions, for the
figures that depend on what the database holds rather than on fetching and compressing.

- `stage_finished_rows`: finished requests holding `rows` finished rows in all, as the gateway
  and the aggregator store them (request documents, row outcomes, state versions), so that a
  latency measured afterwards runs against a database of that size.
- `aggregator_rows_per_s`: one request recorded as the gateway records it, whose results are
  then put on `imgpipe.results` directly, as fast as a producer can: the aggregator's rate of
  storing and counting them, up to the completed request.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from aggregator.result_store import ChunkCompactor, store_rows
from aggregator.tally import OffsetResult
from gateway.intake.request_store import insert_request
from gateway.publishing.checkpoint import record_rows_published
from imgpipe.config.settings import Settings
from imgpipe.contract.messages import ImageOutcome, RequestStatus, RowResult
from imgpipe.contract.topics import RESULTS_TOPIC
from imgpipe.state.database import REQUESTS, Document, connect, database
from imgpipe.state.request_state import RequestState, advance_state, request_state
from imgpipe.state.retention import DEFAULT_RETENTION_S
from imgpipe.state.row_outcomes import ROWS_PER_CHUNK
from imgpipe.state.unfinished_requests import unmark_unfinished
from imgpipe.storage.factory import open_storage
from imgpipe.storage.input_spool import InputSpoolWriter, ProductRow, store_input_spool
from imgpipe.storage.request_paths import INPUT_SPOOL_NAME

ROWS_PER_STAGED_REQUEST = 100_000


def _result(request_id: str, row: int) -> RowResult:
    image = ImageOutcome(
        input_url=f"http://images.bench/{row}.jpg",
        output_url=f"http://out.bench/processed_images/{request_id}/{row}-0.jpg",
        bytes_in=2_000,
        bytes_out=900,
        width=64,
        height=48,
    )
    return RowResult(request_id=request_id, row=row, images=[image], worker_id="bench", duration_ms=3.0)


async def record_spool(settings: Settings, request_id: str, rows: int) -> None:
    storage = open_storage(settings.storage, settings.base_url)
    with tempfile.TemporaryDirectory(dir=storage.staging_dir) as staging:
        path = Path(staging) / INPUT_SPOOL_NAME
        spool = InputSpoolWriter(path)
        for row in range(rows):
            spool.write(ProductRow(str(row + 1), f"Product {row + 1}", (f"http://images.bench/{row}.jpg",)))
        spool.close()
        await store_input_spool(storage, request_id, path)


async def _insert_published_request(
    db: AsyncDatabase[Document], request_id: str, rows: int, retention_s: float
) -> None:
    """A request of `rows` rows of one image each, every row published, as a gateway leaves it."""
    await insert_request(
        db,
        request_id,
        rows,
        rows,
        webhook_url=None,
        owner=None,
        quality=50,
        presets=(),
        retention_s=retention_s,
    )
    await record_rows_published(db, request_id, rows, done=True)


async def stage_finished_request(
    db: AsyncDatabase[Document], rows: int, retention_s: float = DEFAULT_RETENTION_S
) -> str:
    """A finished request of `rows` rows of one image, stored as the aggregator stores it; its id."""
    request_id = str(uuid.uuid4())
    await _insert_published_request(db, request_id, rows, retention_s)
    compactor = ChunkCompactor()
    for start in range(0, rows, ROWS_PER_CHUNK):
        items = [
            OffsetResult(row, _result(request_id, row))
            for row in range(start, min(start + ROWS_PER_CHUNK, rows))
        ]
        await compactor.add(db, request_id, rows, await store_rows(db, request_id, items))
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    assert request is not None
    now = datetime.now(UTC)

    def finished(head: RequestState) -> RequestState:
        return replace(
            head, status=RequestStatus.COMPLETED, rows_done=rows, images_done=rows, results_offset=rows - 1,
            updated_at=now, completed_at=now,
        )  # fmt: skip

    await advance_state(db, request_id, await request_state(db, request), finished)
    await unmark_unfinished(db, request_id)
    return request_id


async def _stage(settings: Settings, rows: int) -> None:
    client = connect(settings.database)
    try:
        db = database(client, settings.database)
        for start in range(0, rows, ROWS_PER_STAGED_REQUEST):
            await stage_finished_request(db, min(ROWS_PER_STAGED_REQUEST, rows - start))
    finally:
        await client.close()


def stage_finished_rows(settings: Settings, rows: int) -> None:
    asyncio.run(_stage(settings, rows))


async def _counted_rows(db: AsyncDatabase[Document], request_id: str) -> RequestState:
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    assert request is not None
    return await request_state(db, request)


async def _aggregator_rate(settings: Settings, rows: int) -> float:
    request_id = str(uuid.uuid4())
    await record_spool(settings, request_id, rows)
    messages = [RESULTS_TOPIC.encode(_result(request_id, row)) for row in range(rows)]
    client = connect(settings.database)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=5, max_batch_size=1_000_000
    )
    await producer.start()
    try:
        db = database(client, settings.database)
        await _insert_published_request(db, request_id, rows, DEFAULT_RETENTION_S)
        started = time.perf_counter()
        for value, key in messages:
            await producer.send(RESULTS_TOPIC.name, value, key=key)
        await producer.flush()
        while not (await _counted_rows(db, request_id)).finished:  # noqa: ASYNC110 (polling the database)
            await asyncio.sleep(0.05)
        return rows / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await client.close()


def aggregator_rows_per_s(settings: Settings, rows: int) -> float:
    """Results stored and counted per second by the aggregator, up to the completed request."""
    return asyncio.run(_aggregator_rate(settings, rows))
