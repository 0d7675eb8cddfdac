"""Numbered documents under a prefix, `"<prefix>/<n>"` with n from 0, taken by insert, never skipped.

A way to list documents with nothing but `_id` reads and inserts (the FerretDB rule): a taker
inserts n, and a duplicate key means another process took it, so n + 1 is tried. Since every n is
taken in order and none is given back, the slots taken are always 0 to n-1, and a reader walks
them from 0 until the first missing one. The upload rate (gateway/upload_rate.py) and the expiry
queue (imgpipe/expiry_queue.py) are made of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


def slot_id(prefix: str, n: int) -> str:
    return f"{prefix}/{n}"


async def take_slot(
    collection: AsyncCollection[Any],
    prefix: str,
    first_unknown: int,
    fields: Mapping[str, Any],
    limit: int | None = None,
) -> int | None:
    """Insert the first free slot from `first_unknown` (every slot below it is known to be
    taken) with `fields`; its number, or None when the slots up to `limit` are all taken."""
    n = first_unknown
    while limit is None or n < limit:
        try:
            await collection.insert_one({"_id": slot_id(prefix, n), **fields})
        except DuplicateKeyError:
            n += 1
            continue
        return n
    return None


async def taken_slots(collection: AsyncCollection[Any], prefix: str) -> AsyncIterator[tuple[int, Any]]:
    """Each taken slot of `prefix`, in order: one `_id` read per slot, and one for the end."""
    n = 0
    while (document := await collection.find_one({"_id": slot_id(prefix, n)})) is not None:
        yield n, document
        n += 1
