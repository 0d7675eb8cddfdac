"""A row message that cannot be decoded goes to the DLQ with its bytes, and its row still
finishes, so the request completes."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from imgpipe.contract.topics import ROWS, ROWS_DLQ
from imgpipe.storage.input_spool import ProductRow
from tests.support.helpers import read_csv, read_topic, wait_finished
from tests.support.stack import RunningStack
from tests.support.staged_requests import record_published_request, send_one

pytestmark = pytest.mark.integration

GARBAGE = b"\x00not json at all\xff"


async def test_undecodable_row_goes_to_the_dlq_and_its_row_fails(stack: RunningStack) -> None:
    # A request as the gateway records it (one row, spooled input), whose row message is garbage.
    request_id = str(uuid.uuid4())
    product = ProductRow("7", "Broken", ("https://example.com/a.jpg",))
    record_published_request(stack, request_id, [product])
    await send_one(stack, ROWS, GARBAGE, f"{request_id}:0".encode())

    status = wait_finished(stack.base_url, request_id)
    assert status["status"] == "completed_with_errors"
    assert status["rows"] == {"total": 1, "done": 0, "failed": 1}

    letters = await read_topic(
        stack.settings.kafka_bootstrap_servers, ROWS_DLQ, lambda d: d["key"] == f"{request_id}:0", 1
    )
    assert len(letters) == 1
    letter = letters[0]
    assert letter["reason"] == "undecodable"
    assert base64.b64decode(letter["value_base64"]) == GARBAGE
    assert letter["source_topic"] == ROWS and letter["error"]

    async with httpx.AsyncClient() as client:
        table = read_csv((await client.get(f"{stack.base_url}/download/{request_id}")).text)
    assert table[1] == ["7", "Broken", "https://example.com/a.jpg", ""]
