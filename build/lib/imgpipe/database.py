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

# One writer per document. FerretDB 1.24 (SQLite) applies an update by reading the document
# and writing it back whole, so two writers updating one document at once undo each other
# (measured: concurrent $inc on different fields lost ~40% of them). Hence the split:
REQUESTS = "requests"  # counters and status: the aggregator (inserted by the gateway)
ROWS = "rows"  # one per finished row: the aggregator, insert-only
PUBLISHING = "publishing"  # a request's publishing checkpoint and lease: the gateways
WEBHOOKS = "webhooks"  # a request's webhook deliveries: the aggregator's webhook agent


def connect(settings: Settings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(settings.mongodb, serverSelectionTimeoutMS=5000, tz_aware=True)


def database(client: AsyncMongoClient[Document], settings: Settings) -> AsyncDatabase[Document]:
    return client[settings.mongodb_database]


async def ensure_indexes(db: AsyncDatabase[Document]) -> None:
    # The output CSV and `?rows=true` read one request's rows in row order.
    await db[ROWS].create_index([("request_id", ASCENDING), ("row", ASCENDING)])
