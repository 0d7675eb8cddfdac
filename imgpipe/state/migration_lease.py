"""One migration run at a time, whichever services start at once: a lease in the `layout` collection.

A run claims `run/<n>` by inserting it (the unique `_id` lets one claimant win; FerretDB would lose
one of two concurrent updates, an insert it cannot) and is its only writer: it moves its heartbeat
while it runs and marks it finished at the end. A later starter steps from `run/0` to the newest run:
a finished or stale one (its holder died, kill -9 included, and its heartbeat stopped) lets it claim
the next number; a live one makes it wait. Runs are few (one per start that found a migration
pending), and this happens at start only, never on a hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from imgpipe.state.database import LAYOUT, Document

logger = logging.getLogger(__name__)

_WAIT_S = 1.0


def run_id(number: int) -> str:
    return f"run/{number}"


async def _claim(db: AsyncDatabase[Document], holder: str, lease_s: float) -> str:
    """The `_id` of the run this holder claimed, once no other run is live."""
    layout = LAYOUT.of(db)
    number = 0
    while True:
        run = await layout.find_one({"_id": run_id(number)})
        now = datetime.now(UTC)
        if run is None:
            try:
                await layout.insert_one(
                    {"_id": run_id(number), "by": holder, "heartbeat": now, "finished_at": None}
                )
            except DuplicateKeyError:
                continue  # another starter claimed this number first: look at its run
            return run_id(number)
        stale = run["heartbeat"] < now - timedelta(seconds=lease_s)
        # Our own run, live, is an attempt that failed (the database went away) and is retried.
        if run["finished_at"] is not None or stale or run["by"] == holder:
            number += 1
        else:
            logger.info("waiting for migration run %s of %s to finish", run["_id"], run["by"])
            await asyncio.sleep(_WAIT_S)


async def _beat(db: AsyncDatabase[Document], claimed: str, lease_s: float) -> None:
    while True:
        await asyncio.sleep(lease_s / 3)
        await LAYOUT.of(db).update_one({"_id": claimed}, {"$set": {"heartbeat": datetime.now(UTC)}})


@contextlib.asynccontextmanager
async def migration_lease(db: AsyncDatabase[Document], holder: str, lease_s: float) -> AsyncIterator[str]:
    """Hold the lease for the body (the run's `_id`); waits while another run is live."""
    claimed = await _claim(db, holder, lease_s)
    beating = asyncio.create_task(_beat(db, claimed, lease_s))
    try:
        yield claimed
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    # Only a run that got to its end is marked finished; one that failed is left to go stale.
    await LAYOUT.of(db).update_one({"_id": claimed}, {"$set": {"finished_at": datetime.now(UTC)}})
