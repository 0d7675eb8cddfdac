"""Rows per second from the start of an upload until every row is in `imgpipe.rows`, beside a
plain aiokafka producer sending the same messages, and the gateway's peak memory."""

from __future__ import annotations

import asyncio
import csv
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.topic_records import messages_in_topic
from imgpipe.config.settings import Settings
from imgpipe.contract.topics import ROWS, ROWS_TOPIC
from imgpipe.runtime.kafka import new_producer
from imgpipe.storage.input_spool import ProductRow
from imgpipe.storage.row_producer import RowContext, row_message

RAW_TOPIC = "bench.raw-rows"


def ensure_ingestion_csv(path: Path, rows: int, image_base_url: str) -> Path:
    """A CSV of `rows` products with one image URL each (cached: the same rows give the same file)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["S. No.", "Product Name", "Input Image Urls"])
        for number in range(1, rows + 1):
            writer.writerow([number, f"Product {number}", f"{image_base_url}/{number % 2000:05d}.jpg"])
    temporary.rename(path)
    return path


def _products(csv_path: Path) -> list[ProductRow]:
    with csv_path.open(newline="") as file:
        rows = csv.reader(file)
        next(rows)
        return [ProductRow(serial, name, (url,)) for serial, name, url in rows]


async def raw_producer_rows_per_s(settings: Settings, csv_path: Path) -> float:
    """The same messages the gateway would send, built beforehand, sent by the same kind of producer."""
    request_id = str(uuid.uuid4())
    context = RowContext(settings.jpeg_quality, owner=None)
    messages = [
        ROWS_TOPIC.encode(row_message(request_id, index, product, context))
        for index, product in enumerate(_products(csv_path))
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        if RAW_TOPIC not in await admin.list_topics():
            await admin.create_topics([NewTopic(RAW_TOPIC, settings.rows_partitions, 1)])
    finally:
        await admin.close()
    producer = new_producer(settings.kafka)
    await producer.start()
    try:
        started = time.perf_counter()
        deliveries = [await producer.send(RAW_TOPIC, value, key=key) for value, key in messages]
        await asyncio.gather(*deliveries)
        return len(messages) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def gateway_rows_per_s(settings: Settings, base_url: str, csv_file: bytes, rows: int) -> float:
    """Upload with no processor running; rows per second until the last row is on the topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        before = await messages_in_topic(consumer, ROWS, settings.rows_partitions)
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=600) as client:
            files = {"file": ("products.csv", csv_file, "text/csv")}
            (await client.post(f"{base_url}/upload", files=files)).raise_for_status()
        # Polled: the broker offers no notification of a topic's end offset moving.
        while await messages_in_topic(consumer, ROWS, settings.rows_partitions) < before + rows:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return rows / (time.perf_counter() - started)
    finally:
        await consumer.stop()
