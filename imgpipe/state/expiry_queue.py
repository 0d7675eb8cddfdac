"""The expiry queue: which requests are due to expire when, read by time without a query.

Time is cut into buckets of `BUCKET_S` seconds. A request due at time t is queued as a numbered
slot (imgpipe/state/numbered_slots.py) of its bucket: `"<bucket>/<n>"` in `expiry_queue`, holding the
request's id and what is due (`expire` the request, or `forget` its tombstone). The expiry walks
the buckets in order from a cursor (`expiry_cursor`, one document), so finding what is due costs
one `_id` read per entry and one per bucket, never a scan of anything stored.

A bucket is read only once it lies `SETTLED_BUCKETS` behind the clock, and an entry is never
queued into a bucket before the current one: an entry written as late as a bucket is read (with
clocks up to one bucket apart) still lands where the cursor has not been yet.

An entry is a reminder, not the truth: the expiry checks the request itself before deleting
anything (a request finished twice is queued twice; the later entry is the one that counts).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from imgpipe.state.database import EXPIRY_CURSOR, EXPIRY_QUEUE, Document
from imgpipe.state.numbered_slots import first_free_slot, slot_id, take_slot, taken_slots

BUCKET_S = 10
SETTLED_BUCKETS = 2
CURSOR_ID = "cursor"
# Buckets whose next free slot a writer remembers (finishing requests are due within a few).
REMEMBERED_BUCKETS = 64

Due = Literal["expire", "forget"]


@dataclass(frozen=True)
class QueuedExpiry:
    entry_id: str
    request_id: str
    due: Due


def bucket_of(moment: datetime) -> int:
    return math.floor(moment.timestamp() / BUCKET_S)


def last_settled_bucket(now: datetime) -> int:
    return bucket_of(now) - SETTLED_BUCKETS


class ExpiryQueue:
    """The writing side, as one process uses it: it remembers per bucket the first slot it does
    not know to be taken, so queueing costs one insert, plus one per entry others queued since
    (and a search of the bucket's end, the first time it writes to a bucket)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self._first_unknown: dict[int, int] = {}
        self._cursor_started = False

    async def add(self, request_id: str, at: datetime, due: Due = "expire") -> None:
        """Queue `due` for `request_id` at `at` (or now, if that is past)."""
        now = datetime.now(UTC)
        if not self._cursor_started:
            await _start_cursor(self._db, now)
            self._cursor_started = True
        bucket = max(bucket_of(at), bucket_of(now))
        queue = EXPIRY_QUEUE.of(self._db)
        first_unknown = self._first_unknown.get(bucket)
        if first_unknown is None:
            # A bucket new to this writer may hold many entries already (another aggregator's,
            # or a migration queueing past-due requests all into the current bucket).
            first_unknown = await first_free_slot(queue, str(bucket))
        n = await take_slot(queue, str(bucket), first_unknown, {"request_id": request_id, "due": due})
        assert n is not None  # no limit
        if len(self._first_unknown) > REMEMBERED_BUCKETS:
            self._first_unknown.clear()
        self._first_unknown[bucket] = n + 1


async def _start_cursor(db: AsyncDatabase[Document], now: datetime) -> None:
    """The cursor starts no later than the first entry ever queued, wherever the expiry runs."""
    with contextlib.suppress(DuplicateKeyError):
        await EXPIRY_CURSOR.of(db).insert_one({"_id": CURSOR_ID, "bucket": last_settled_bucket(now)})


async def cursor_bucket(db: AsyncDatabase[Document]) -> int:
    """The first bucket not yet fully handled."""
    cursor = await EXPIRY_CURSOR.of(db).find_one({"_id": CURSOR_ID})
    if cursor is None:
        await _start_cursor(db, datetime.now(UTC))
        return await cursor_bucket(db)
    return int(cursor["bucket"])


async def move_cursor(db: AsyncDatabase[Document], bucket: int) -> None:
    """Buckets before `bucket` are handled and their entries deleted."""
    await EXPIRY_CURSOR.of(db).update_one({"_id": CURSOR_ID}, {"$set": {"bucket": bucket}})


async def queued_in(db: AsyncDatabase[Document], bucket: int) -> list[QueuedExpiry]:
    return [
        QueuedExpiry(slot_id(str(bucket), n), entry["request_id"], entry["due"])
        async for n, entry in taken_slots(EXPIRY_QUEUE.of(db), str(bucket))
    ]
