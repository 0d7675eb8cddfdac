"""Expiry: deleting what a finished request stored once its retention is over.

Everything a request stored is found from the request itself, so deleting it costs what it
deletes, never the size of the database: its documents by `_id` (the state versions `#0` up, rows
`:0` to `:rows_total - 1`, their chunks, the publishing checkpoint and its takeover claims, the
webhook record), and its objects (input CSV, its offset index, output CSV) by its key prefix in
storage. The output images it shares with other requests are not its own and stay.

The order makes a kill -9 at any point harmless:
1. the request document gets `expired_at`: from then on its URLs answer 410 Gone, whatever is left;
2. its documents and objects are deleted, each step a no-op where already done;
3. the request document, now its tombstone, is queued to be forgotten one retention later (the
   ids of expired requests answer 410 until then, and 404 after).
The queue entry is deleted only after all of this (aggregator/expiry_pipeline.py): a pass cut
short is done again from the start by the next one.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from pymongo import DeleteOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.config.settings import LifecycleSettings
from imgpipe.contract.row_key import RowKey
from imgpipe.state.database import (
    PUBLISHING,
    PUBLISHING_CLAIMS,
    REQUEST_STATES,
    REQUESTS,
    ROW_CHUNKS,
    ROW_OUTCOMES,
    UNFINISHED_REQUESTS,
    WEBHOOKS,
    Document,
    RequestDocument,
)
from imgpipe.state.expiry_queue import ExpiryQueue
from imgpipe.state.request_state import request_state, state_id
from imgpipe.state.retention import expiry_of, retention_of
from imgpipe.state.row_outcomes import ROWS_PER_CHUNK, chunk_id
from imgpipe.storage.base import ObjectStorage

logger = logging.getLogger(__name__)

# Deletes sent in one command: each still a single-`_id` filter, which FerretDB answers from its
# primary key.
DELETE_BATCH = 1000

REQUESTS_EXPIRED = Counter(
    "imgpipe_requests_expired_total", "Finished requests deleted at the end of their retention"
)
ROWS_EXPIRED = Counter("imgpipe_rows_expired_total", "Rows of expired requests deleted")


async def _delete_ids(collection: AsyncCollection[Any], ids: Iterable[str]) -> None:
    batches = iter(ids)
    while batch := list(itertools.islice(batches, DELETE_BATCH)):
        await collection.bulk_write([DeleteOne({"_id": each}) for each in batch], ordered=False)


async def _delete_numbered_until_missing(
    collection: AsyncCollection[Any], id_of: Iterable[str], known: int
) -> None:
    """Delete the documents `id_of` names, in order: the first `known` exist (in one go), then
    one by one until one is missing (numbers taken after the last one recorded)."""
    names = iter(id_of)
    await _delete_ids(collection, itertools.islice(names, known))
    for name in names:
        if (await collection.delete_one({"_id": name})).deleted_count == 0:
            return


async def _delete_documents(db: AsyncDatabase[Document], request: RequestDocument) -> None:
    request_id, rows = request["_id"], request["rows_total"]
    # Versions 0 to the hint exist; the hint may lag behind the newest by a few.
    await _delete_numbered_until_missing(
        REQUEST_STATES.of(db),
        (state_id(request_id, v) for v in itertools.count()),
        request["state_version"] + 1,
    )
    await _delete_ids(ROW_OUTCOMES.of(db), (str(RowKey(request_id, row)) for row in range(rows)))
    await _delete_ids(
        ROW_CHUNKS.of(db), (chunk_id(request_id, c) for c in range(math.ceil(rows / ROWS_PER_CHUNK)))
    )
    publishing = await PUBLISHING.of(db).find_one({"_id": request_id})
    if publishing is not None:
        # Takeovers are numbered from 1; the last may not be recorded in the checkpoint yet.
        await _delete_numbered_until_missing(
            PUBLISHING_CLAIMS.of(db),
            (f"{request_id}/{n}" for n in itertools.count(1)),
            publishing.get("takeovers", 0),
        )
        await PUBLISHING.of(db).delete_one({"_id": request_id})
    await WEBHOOKS.of(db).delete_one({"_id": request_id})
    await UNFINISHED_REQUESTS.of(db).delete_one({"_id": request_id})


async def _due(
    db: AsyncDatabase[Document], request: RequestDocument, lifecycle: LifecycleSettings, now: datetime
) -> bool:
    """Whether a request not yet marked expired is finished and past its expiry. Never one that is
    still worked on: a request stuck unfinished is reported (aggregator/repair_pipeline.py)."""
    state = await request_state(db, request)
    if not state.finished:
        return False
    completed_at = state.completed_at or state.updated_at
    return (state.expires_at or expiry_of(request, completed_at, lifecycle)) <= now


async def expire_request(
    db: AsyncDatabase[Document],
    storage: ObjectStorage,
    lifecycle: LifecycleSettings,
    queue: ExpiryQueue,
    request_id: str,
    now: datetime,
) -> bool:
    """Delete the request's documents and objects if it is due; whether it was (or had begun)."""
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    if request is None:
        return False
    if "expired_at" not in request:
        if not await _due(db, request, lifecycle, now):
            return False
        await REQUESTS.of(db).update_one({"_id": request_id}, {"$set": {"expired_at": now}})
        request["expired_at"] = now
    await _delete_documents(db, request)
    objects = await storage.delete_prefix(request_id)
    await queue.add(request_id, request["expired_at"] + retention_of(request, lifecycle), "forget")
    REQUESTS_EXPIRED.inc()
    ROWS_EXPIRED.inc(request["rows_total"])
    logger.info(
        "request %s expired: %d rows and %d objects deleted", request_id, request["rows_total"], objects
    )
    return True


async def forget_request(
    db: AsyncDatabase[Document], lifecycle: LifecycleSettings, request_id: str, now: datetime
) -> None:
    """Delete an expired request's tombstone once it has answered 410 for a retention."""
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    if request is None or "expired_at" not in request:
        return
    if request["expired_at"] + retention_of(request, lifecycle) <= now:
        await REQUESTS.of(db).delete_one({"_id": request_id})
