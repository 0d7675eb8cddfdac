"""MongoDB access shared by the services: one client and the collection names.

Uses PyMongo's async API (`AsyncMongoClient`), the official successor of Motor. Only features
that both MongoDB 7 and FerretDB 1.24 support are used: no transactions, no change streams.

Every access on a hot path is an insert or a read, update or delete of one document by a plain
`_id`. FerretDB 1.24's SQLite backend pushes exactly that filter shape down to SQL; any other
filter decodes the whole collection (about 180 µs per document), so a query by `request_id`
would cost in proportion to everything ever stored. With a real MongoDB the `_id` index serves
the same accesses, so no other index is needed. The only other read is the listing of
`unfinished_requests`, whose size is the number of requests in flight, not the database's.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.command_shapes import CommandShapeLogger
from imgpipe.settings import Settings

Document = dict[str, Any]

# One writer per document. FerretDB 1.24 (SQLite) applies an update by reading the document
# and writing it back whole, so two writers updating one document at once undo each other
# (measured: concurrent $inc on different fields lost ~40% of them). Hence the split:
REQUESTS = "requests"  # what was accepted: inserted by the gateway; the aggregator moves its state hint
REQUEST_STATES = (
    "request_states"  # "<id>#<version>": a request's progress, insert-only (see request_state.py)
)
ROW_OUTCOMES = "row_outcomes"  # "<id>:<row>": a finished row, insert-only: the aggregator
ROW_CHUNKS = "row_chunks"  # "<id>/<chunk>": a chunk of finished rows, inserted once complete: the aggregator
UNFINISHED_REQUESTS = "unfinished_requests"  # one per request in flight: gateway inserts, aggregator deletes
PUBLISHING = "publishing"  # a request's publishing checkpoint and lease: the gateways
PUBLISHING_CLAIMS = "publishing_claims"  # "<id>/<n>": the n-th takeover of a publishing, insert-only
WEBHOOKS = "webhooks"  # a request's webhook deliveries: the aggregator's webhook agent
# Per owner and source URL, "<sha256>": the validators and content hash the source last sent. The
# processors replace it whole; two writing at once write the same answer, the last one stays.
SOURCE_CACHE = "source_cache"


def connect(settings: Settings) -> AsyncMongoClient[Document]:
    listeners = [CommandShapeLogger()] if settings.log_database_commands else []
    return AsyncMongoClient(
        settings.mongodb, serverSelectionTimeoutMS=5000, tz_aware=True, event_listeners=listeners
    )


def database(client: AsyncMongoClient[Document], settings: Settings) -> AsyncDatabase[Document]:
    return client[settings.mongodb_database]
