"""Uploads per minute per owner, counted exactly across any number of gateways.

Windows are the minutes of the clock. The n-th upload an owner has accepted in minute m inserts the
`upload_slots` document `"<owner>/<m>/<n>"`, n from 0: a duplicate key means that another upload,
here or on another gateway, holds slot n, so the next is tried; once n reaches the limit, the
minute is full. Inserts only, each answered from the primary key however many slots are stored.

Each gateway remembers per owner the next slot it expects to be free in the current minute, so an
upload costs one insert, plus one per slot other gateways took since. Slots are taken from 0 up
and never given back, so a minute's slots are always 0 to n-1 without a gap: what this gateway has
seen taken stays taken, and a minute it knows is full is refused without asking the database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from gateway.api.api_keys import OPEN_OWNER
from imgpipe.state.database import UPLOAD_SLOTS, Document
from imgpipe.state.numbered_slots import take_slot
from imgpipe.state.retention import DAY_S

MINUTE_S = 60


def minute_prefix(owner: str | None, minute: int) -> str:
    return f"{owner or OPEN_OWNER}/{minute}"


class UploadRate:
    def __init__(self, db: AsyncDatabase[Document], clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        # owner -> (minute, the first slot of that minute not known to be taken)
        self._next_slot: dict[str | None, tuple[int, int]] = {}

    def _minute(self) -> int:
        return int(self._clock() // MINUTE_S)

    def _first_unknown(self, owner: str | None, minute: int) -> int:
        known_minute, n = self._next_slot.get(owner, (minute, 0))
        return n if known_minute == minute else 0

    def seconds_to_next_minute(self) -> int:
        """The wait until a full minute's slots are no longer counted (a whole number, as
        Retry-After takes it)."""
        return max(1, math.ceil(MINUTE_S - self._clock() % MINUTE_S))

    def known_full(self, owner: str | None, limit: int) -> bool:
        """Whether this gateway has already seen the current minute's `limit` slots taken."""
        return self._first_unknown(owner, self._minute()) >= limit

    async def take_slot(self, owner: str | None, limit: int) -> bool:
        """Take the owner's next slot of the current minute; False when all `limit` are taken."""
        minute = self._minute()
        # The slots of a day in a collection of their own, dropped once the day after is over.
        slots = UPLOAD_SLOTS.at(DAY_S, datetime.fromtimestamp(minute * MINUTE_S, UTC)).of(self._db)
        taken = await take_slot(
            slots,
            minute_prefix(owner, minute),
            self._first_unknown(owner, minute),
            {"at": datetime.now(UTC)},
            limit,
        )
        self._remember(owner, minute, limit if taken is None else taken + 1)
        return taken is not None

    def _remember(self, owner: str | None, minute: int, next_slot: int) -> None:
        # Concurrent uploads of one owner finish in any order: keep the furthest slot seen. (A
        # memory that goes wrong costs only inserts: a taken slot is never taken twice.)
        if self._first_unknown(owner, minute) < next_slot:
            self._next_slot[owner] = (minute, next_slot)
