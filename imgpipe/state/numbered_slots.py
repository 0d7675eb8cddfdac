"""Numbered documents under a prefix, `"<prefix>/<n>"` with n from 0, taken by insert, never skipped.

A way to list documents with nothing but `_id` reads and inserts (the FerretDB rule): a taker
inserts n, and a duplicate key means another process took it, so n + 1 is tried. Since every n is
taken in order and none is given back, the slots taken are always 0 to n-1, and a reader walks
them from 0 until the first missing one. The upload rate (gateway/api/upload_rate.py) and the expiry
queue (imgpipe/state/expiry_queue.py) are made of them.
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


async def first_free_slot(collection: AsyncCollection[Any], prefix: str, known_taken: int = 0) -> int:
    """The first slot not taken yet, every slot below `known_taken` being taken: found in a number
    of `_id` reads that grows with the logarithm of the slots taken since (they are a prefix of
    the numbers, so a doubling search, then a halving one, finds the end)."""

    async def taken(n: int) -> bool:
        return await collection.find_one({"_id": slot_id(prefix, n)}, {"_id": 1}) is not None

    if not await taken(known_taken):
        return known_taken
    below, step = known_taken, 1  # `below` is taken
    while await taken(below + step):
        below, step = below + step, 2 * step
    above = below + step  # free
    while above - below > 1:
        middle = (below + above) // 2
        below, above = (middle, above) if await taken(middle) else (below, middle)
    return above


async def taken_slots(collection: AsyncCollection[Any], prefix: str) -> AsyncIterator[tuple[int, Any]]:
    """Each taken slot of `prefix`, in order: one `_id` read per slot, and one for the end."""
    n = 0
    while (document := await collection.find_one({"_id": slot_id(prefix, n)})) is not None:
        yield n, document
        n += 1
