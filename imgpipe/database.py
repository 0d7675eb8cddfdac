"""MongoDB access shared by the services: one client, the collection names, the indexes.

Uses PyMongo's async API (`AsyncMongoClient`), the official successor of Motor. Only features
that both MongoDB 7 and FerretDB 1.24 support are used: no transactions, no change streams.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.settings import Settings

Document = dict[str, Any]

REQUESTS = "requests"
ROWS = "rows"


def connect(settings: Settings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(settings.mongodb, serverSelectionTimeoutMS=5000, tz_aware=True)


def database(client: AsyncMongoClient[Document], settings: Settings) -> AsyncDatabase[Document]:
    return client[settings.mongodb_database]


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    # The output CSV and `?rows=true` read one request's rows in row order.
    await db[ROWS].create_index([("request_id", ASCENDING), ("row", ASCENDING)])
