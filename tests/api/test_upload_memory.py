"""POST /upload in process: an oversized CSV is refused with 413 JSON, in memory that does not
grow with the file.

The app runs without its lifespan: a broker that answers is faked (the upload checks for one
before reading the file), and the database and the publisher are absent, so the test also proves
a refused upload never reaches them.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase

from gateway.api.api_keys import load_api_keys
from gateway.api.dependencies import GatewayState
from gateway.api.upload_rate import UploadRate
from gateway.app import create_app
from gateway.publishing.row_publisher import RowPublisher
from gateway.publishing.unfinished_work import UnfinishedWork
from imgpipe.config.settings import Settings
from imgpipe.state.database import Document
from imgpipe.storage.factory import open_storage

BOUNDARY = "imgpipe-test-boundary"
ROWS = 300_000  # about 10 MB of CSV
MAX_ROWS = 1_000
CHUNK_ROWS = 2_000  # about 64 KB: what a socket hands the app at a time


class AnsweringKafkaClient:
    async def fetch_all_metadata(self) -> None:
        return None


class AnsweringProducer:
    client = AnsweringKafkaClient()


async def multipart_csv(rows: int) -> AsyncIterator[bytes]:
    """A multipart upload of a CSV with `rows` rows, streamed in chunks."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="products.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nS. No.,Product Name,Input Image Urls\n"
    ).encode()
    for first in range(1, rows + 1, CHUNK_ROWS):
        numbers = range(first, min(first + CHUNK_ROWS, rows + 1))
        yield "".join(f"{n},Product {n},https://example.com/{n}.jpg\n" for n in numbers).encode()
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def post_while_tracing_memory(app: FastAPI) -> tuple[httpx.Response, int]:
    """The answer to an upload of ROWS rows, and the peak of memory allocated meanwhile."""
    tracemalloc.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            response = await client.post(
                "/upload",
                content=multipart_csv(ROWS),
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            )
        return response, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_csv_over_max_rows_is_413_in_bounded_memory(tmp_path: Path) -> None:
    # Explicit: the integration tests leave their stack's smaller upload limit in os.environ.
    settings = Settings(
        storage_url=f"file://{tmp_path}", max_rows=MAX_ROWS, max_upload_bytes=100 * 1024 * 1024
    )
    app = create_app(settings)
    app.state.gateway = GatewayState(
        images=settings.images,
        limits=settings.limits,
        lifecycle=settings.lifecycle,
        base_url=settings.base_url,
        db=cast(AsyncDatabase[Document], None),
        producer=cast(AIOKafkaProducer, AnsweringProducer()),
        publisher=cast(RowPublisher, None),
        api_keys=load_api_keys(settings.access, settings.limits, settings.lifecycle),
        storage=open_storage(settings.storage, settings.base_url),
        unfinished=UnfinishedWork(cast(AsyncDatabase[Document], None)),
        upload_rate=UploadRate(cast(AsyncDatabase[Document], None)),
    )

    response, peak = asyncio.run(post_while_tracing_memory(app))

    assert response.status_code == 413
    assert response.json() == {
        "error": "too_many_rows",
        "message": f"the file has more than {MAX_ROWS} product rows",
    }
    # The upload is spooled to disk past 1 MB, then read one row at a time: about 2 MB at most
    # is held (measured), whatever the file's size (10 MB here).
    assert peak < 4_000_000, f"peak {peak} bytes"
    assert list(tmp_path.iterdir()) == []  # nothing of the refused request is left behind
