"""What the integration tests do as a client would: upload, poll, download, read topics."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiokafka import AIOKafkaConsumer

from tests.support.diagnostics import pending_rows_report

FINISHED = {"completed", "completed_with_errors", "failed"}


def product_csv(rows: list[tuple[str, str, list[str]]]) -> str:
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["S. No.", "Product Name", "Input Image Urls"])
    for serial, name, urls in rows:
        writer.writerow([serial, name, ",".join(urls)])
    return output.getvalue()


def upload(
    base_url: str, csv_text: str, headers: dict[str, str] | None = None, **form: str
) -> httpx.Response:
    return httpx.post(
        f"{base_url}/upload",
        files={"file": ("products.csv", csv_text.encode(), "text/csv")},
        data=form,
        headers=headers,
        timeout=60,
    )


def wait_finished(
    base_url: str, request_id: str, timeout_s: float = 180, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = httpx.get(f"{base_url}/status/{request_id}", headers=headers, timeout=10)
        except httpx.TransportError:
            response = None  # the gateway is being restarted by the test
        # 503: the database is down for a moment (the fault tests do that on purpose).
        status: dict[str, Any] = (
            response.json() if response is not None and response.status_code == 200 else {}
        )
        if status.get("status") in FINISHED:
            return status
        if time.monotonic() > deadline:
            pending = pending_rows_report(base_url, request_id, headers)
            raise AssertionError(f"request {request_id} not finished: {status}; {pending}")
        time.sleep(0.2)


def stored_key(output_url: str) -> str:
    """The storage key of an output the gateway serves at `output_url`."""
    return urlsplit(output_url).path.removeprefix("/processed_images/")


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def read_topic(
    bootstrap: str,
    topic: str,
    matches: Callable[[dict[str, Any]], bool],
    expected: int,
    timeout_s: float = 60,
) -> list[dict[str, Any]]:
    """Read `topic` from the beginning as an independent downstream consumer (a consumer group
    of its own) until `expected` JSON messages satisfy `matches`."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"imgpipe-tests-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(found) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    try:
                        value = json.loads(message.value)
                    except ValueError:
                        continue  # the DLQ test's deliberately undecodable row message
                    if matches(value):
                        found.append(value)
    finally:
        await consumer.stop()
    return found
