"""gateway.publishing.row_publisher.publish_rows checkpoints about once a second of publishing, each time only
after the broker has acknowledged every row it counts, and once more at the end.

The producer is faked: it acknowledges a batch on the event loop's next turn, so a checkpoint
recorded without waiting for the acknowledgements would count rows still unacknowledged. Each
row takes a quarter of a second on the fake clock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from gateway.publishing import row_publisher
from gateway.publishing.fair_scheduler import FairScheduler
from gateway.publishing.finished_rows import FinishedRows
from gateway.publishing.unfinished_work import UnfinishedWork
from imgpipe.state.database import Document
from imgpipe.storage.file import FileStorage
from imgpipe.storage.input_spool import InputSpoolWriter, ProductRow, store_input_spool
from imgpipe.storage.row_producer import RowContext

SECONDS_PER_ROW = 0.25


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeBatch:
    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.rows = 0

    def append(self, key: bytes, value: bytes, timestamp: int | None) -> object:
        self._clock.now += SECONDS_PER_ROW
        self.rows += 1
        return object()  # aiokafka's metadata of the appended message: anything but None


class FakeProducer:
    """Hands batches over like aiokafka's batch API, and acknowledges them a moment later."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.acknowledged_rows = 0

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1}

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self._clock)

    async def send_batch(self, batch: FakeBatch, topic: str, partition: int) -> asyncio.Future[object]:
        delivery: asyncio.Future[object] = asyncio.get_running_loop().create_future()

        def acknowledge() -> None:
            self.acknowledged_rows += batch.rows
            delivery.set_result(None)

        asyncio.get_running_loop().call_soon(acknowledge)
        return delivery


def scheduler(scheduled_rows: int, finished: FinishedRows | None = None) -> FairScheduler:
    unfinished = UnfinishedWork(cast(AsyncDatabase[Document], None))
    return FairScheduler(scheduled_rows, finished or FinishedRows(), unfinished, lambda owner: 1.0)


async def stored_spool(directory: Path, request_id: str, rows: int) -> FileStorage:
    """A file storage holding a spool of `rows` rows for `request_id`."""
    path = directory / "input.csv"
    writer = InputSpoolWriter(path)
    for n in range(1, rows + 1):
        writer.write(ProductRow(str(n), f"Product {n}", (f"https://example.com/{n}.jpg",)))
    writer.close()
    storage = FileStorage(directory / "store", "http://gateway.test")
    await store_input_spool(storage, request_id, path)
    return storage


@pytest.mark.parametrize(
    ("start_row", "checkpoints"),
    [
        (0, [(4, 4, False), (8, 8, False), (10, 10, True)]),
        (3, [(7, 4, False), (10, 7, True)]),  # resumed from a checkpoint at row 3
    ],
)
async def test_a_checkpoint_after_each_second_of_publishing_and_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_row: int, checkpoints: list[tuple[int, int, bool]]
) -> None:
    clock = FakeClock()
    producer = FakeProducer(clock)
    recorded: list[tuple[int, int, bool]] = []

    async def record_rows_published(
        db: AsyncDatabase[Document], request_id: str, published: int, done: bool
    ) -> None:
        recorded.append((published, producer.acknowledged_rows, done))

    monkeypatch.setattr(row_publisher, "record_rows_published", record_rows_published)
    unscheduled = scheduler(scheduled_rows=0)
    await row_publisher.publish_rows(
        cast(AIOKafkaProducer, producer),
        cast(AsyncDatabase[Document], None),
        RowContext(quality=50, owner=None),
        await stored_spool(tmp_path, "request-1", 10),
        unscheduled,
        unscheduled.open("request-1", None, rows_total=10, published=start_row, finished=0),
        clock,
    )
    # (rows checkpointed, rows the broker had acknowledged by then, done)
    assert recorded == checkpoints


async def _settled() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_rows_are_published_as_rows_of_the_request_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    producer = FakeProducer(clock)

    async def record_rows_published(*args: object) -> None:
        pass

    monkeypatch.setattr(row_publisher, "record_rows_published", record_rows_published)
    finished = FinishedRows()
    paced = scheduler(scheduled_rows=4, finished=finished)
    window = paced.open("request-1", None, rows_total=10, published=0, finished=0)
    publishing = asyncio.create_task(
        row_publisher.publish_rows(
            cast(AIOKafkaProducer, producer),
            cast(AsyncDatabase[Document], None),
            RowContext(quality=50, owner=None),
            await stored_spool(tmp_path, "request-1", 10),
            paced,
            window,
            clock,
        )
    )
    await _settled()
    # The window is full: its rows went to the broker, and nothing more until some finish.
    assert (window.published, producer.acknowledged_rows) == (4, 4)

    finished.count([b"other-request", b"request-1", b"request-1", b"request-1"])
    await _settled()
    assert (window.published, producer.acknowledged_rows) == (7, 7)

    finished.count([b"request-1"] * 6)
    await asyncio.wait_for(publishing, 5)
    assert producer.acknowledged_rows == 10
