"""What the database holds for a request, read through the product's own store functions
(from synchronous test code): its current state and its stored row outcomes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from devstack.sync_run import run_sync
from imgpipe.config.settings import Settings
from imgpipe.state.database import REQUESTS, Document, connect, database
from imgpipe.state.request_state import RequestState, request_state
from imgpipe.state.row_outcomes import chunks_in_order

T = TypeVar("T")


def with_database(settings: Settings, use: Callable[[AsyncDatabase[Document]], Awaitable[T]]) -> T:
    async def run() -> T:
        client = connect(settings.database)
        try:
            return await use(database(client, settings.database))
        finally:
            await client.close()

    return run_sync(run())


def stored_state(settings: Settings, request_id: str) -> RequestState | None:
    async def read(db: AsyncDatabase[Document]) -> RequestState | None:
        request = await REQUESTS.of(db).find_one({"_id": request_id})
        return None if request is None else await request_state(db, request)

    return with_database(settings, read)


def stored_row_count(settings: Settings, request_id: str, rows_total: int) -> int:
    """How many of the request's rows have an outcome stored."""

    async def count(db: AsyncDatabase[Document]) -> int:
        return sum([len(outcomes) async for _, outcomes in chunks_in_order(db, request_id, rows_total)])

    return with_database(settings, count)
