"""The gateway and the aggregator write at the same moment, and neither write is lost.

FerretDB 1.24 (SQLite) applies an update by reading the document and writing it back whole, so
two clients updating one document at once can undo each other. imgpipe therefore gives every
document one writer: the request's state versions belong to the aggregator, the publishing
checkpoint to the gateway, the webhook record to the webhook agent. These tests run the real
store functions concurrently against the real database and check that every write survives.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from aggregator.result_store import ChunkCompactor, apply_results
from aggregator.tally import OffsetResult
from aggregator.webhook_store import record_webhook_attempt
from gateway.intake.request_store import insert_request, webhook_record
from gateway.publishing.checkpoint import publishing_progress, record_rows_published
from imgpipe.contract.messages import ImageOutcome, RowResult
from imgpipe.state.database import PUBLISHING, REQUESTS, UNFINISHED_REQUESTS, WEBHOOKS, Document
from imgpipe.state.request_state import RequestState, request_state
from imgpipe.state.retention import DEFAULT_RETENTION_S
from imgpipe.state.webhook_deliveries import WebhookDelivery
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

ROWS = 150


@pytest.fixture
async def db(stack: RunningStack) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.settings.mongodb_url, tz_aware=True)
    yield client[stack.settings.mongodb_database]
    await client.close()


@pytest.fixture
async def request_id(db: AsyncDatabase[Document]) -> AsyncIterator[str]:
    """A fresh request id; its documents are deleted afterwards, or the aggregator would find a
    request with every row counted but never finished, and keep repairing it."""
    request_id = str(uuid.uuid4())
    yield request_id
    for collection in (UNFINISHED_REQUESTS, REQUESTS, PUBLISHING, WEBHOOKS):
        await collection.of(db).delete_one({"_id": request_id})


def _result(request_id: str, row: int) -> OffsetResult:
    image = ImageOutcome(input_url=f"http://images.test/{row}.jpg", output_url=f"http://out.test/{row}.jpg")
    result = RowResult(request_id=request_id, row=row, images=[image], worker_id="w", duration_ms=1)
    return OffsetResult(row, result)


async def _count_one_by_one(db: AsyncDatabase[Document], request_id: str) -> None:
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    assert request is not None
    state, compactor = await _state(db, request_id), ChunkCompactor()
    for row in range(ROWS):
        state = await apply_results(db, request, state, [_result(request_id, row)], compactor)


async def _state(db: AsyncDatabase[Document], request_id: str) -> RequestState:
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    assert request is not None
    return await request_state(db, request)


async def test_publishing_checkpoints_do_not_undo_counting(
    db: AsyncDatabase[Document], request_id: str
) -> None:
    await insert_request(
        db,
        request_id,
        ROWS,
        ROWS,
        webhook_url=None,
        owner=None,
        quality=50,
        presets=(),
        retention_s=DEFAULT_RETENTION_S,
    )

    async def checkpoint_every_row() -> None:
        for published in range(1, ROWS + 1):
            await record_rows_published(db, request_id, published, done=published == ROWS)

    await asyncio.gather(checkpoint_every_row(), _count_one_by_one(db, request_id))

    state = await _state(db, request_id)
    assert (state.rows_done, state.images_done, state.results_offset) == (ROWS, ROWS, ROWS - 1)
    progress = await publishing_progress(db, request_id)
    assert progress is not None and (progress.rows_published, progress.done) == (ROWS, True)


async def test_webhook_records_do_not_undo_counting(db: AsyncDatabase[Document], request_id: str) -> None:
    await insert_request(
        db,
        request_id,
        ROWS,
        ROWS,
        webhook_url="http://hooks.test/",
        owner=None,
        quality=50,
        presets=(),
        retention_s=DEFAULT_RETENTION_S,
    )
    # No rows to publish here (there is no spooled CSV): the checkpoint says so.
    await record_rows_published(db, request_id, ROWS, done=True)

    async def record_attempts() -> None:
        for attempt in range(1, ROWS + 1):
            delivery = WebhookDelivery(attempt=attempt, at=datetime.now(UTC), status_code=500, error=None)
            await record_webhook_attempt(db, request_id, delivery, final=attempt == ROWS)

    await asyncio.gather(record_attempts(), _count_one_by_one(db, request_id))

    state = await _state(db, request_id)
    assert (state.rows_done, state.images_done) == (ROWS, ROWS)
    record = await webhook_record(db, request_id)
    assert record is not None
    assert [d["attempt"] for d in record["deliveries"]] == list(range(1, ROWS + 1))
    assert record["status"] == "failed"
