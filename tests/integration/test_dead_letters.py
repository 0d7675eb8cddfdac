"""A row message that cannot be decoded goes to the DLQ with its bytes, and its row still
finishes, so the request completes."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from imgpipe.database import Document
from imgpipe.topics import ROWS, ROWS_DLQ
from tests.integration.helpers import read_csv, read_topic, wait_finished
from tests.integration.stack import RunningStack

pytestmark = pytest.mark.integration

GARBAGE = b"\x00not json at all\xff"


async def test_undecodable_row_goes_to_the_dlq_and_its_row_fails(
    stack: RunningStack, mongo: MongoClient[Document]
) -> None:
    # A request as the gateway records it (one row, spooled input), whose row message is garbage.
    request_id = str(uuid.uuid4())
    request_dir = stack.settings.processed_images_dir / request_id
    request_dir.mkdir(parents=True)
    (request_dir / "input.csv").write_text("7,Broken,https://example.com/a.jpg\r\n")
    now = datetime.now(UTC)
    mongo[stack.settings.mongodb_database].requests.insert_one(
        {
            "_id": request_id, "status": "queued", "owner": None,
            "rows_total": 1, "images_total": 1, "rows_done": 0, "rows_failed": 0,
            "images_done": 0, "images_failed": 0, "rows_published": 1, "publishing_done": True,
            "publish_heartbeat": now, "results_offset": -1, "webhook_url": None,
            "webhook_deliveries": [], "created_at": now, "updated_at": now, "completed_at": None,
        }
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(ROWS, GARBAGE, key=f"{request_id}:0".encode())
    finally:
        await producer.stop()

    status = wait_finished(stack.base_url, request_id)
    assert status["status"] == "completed_with_errors"
    assert status["rows"] == {"total": 1, "done": 0, "failed": 1}

    letters = await read_topic(
        stack.settings.kafka_bootstrap, ROWS_DLQ, lambda d: d["key"] == f"{request_id}:0", 1
    )
    assert len(letters) == 1
    letter = letters[0]
    assert letter["reason"] == "undecodable"
    assert base64.b64decode(letter["value_base64"]) == GARBAGE
    assert letter["source_topic"] == ROWS and letter["error"]

    async with httpx.AsyncClient() as client:
        table = read_csv((await client.get(f"{stack.base_url}/download/{request_id}")).text)
    assert table[1] == ["7", "Broken", "https://example.com/a.jpg", ""]
