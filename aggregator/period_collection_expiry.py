"""Dropping the collections kept by period once out of use: the source cache's (its entries are too
old to use) and the upload rate's slots (their minutes are long past).

The collections are found by listing the database's collection names (a few per period), and a
period's collection is dropped whole (imgpipe/state/database.py's `PeriodCollections`): nothing is read,
whatever it holds. The one collection each had before periods (`source_cache`, `upload_slots`) is
dropped too: nothing reads it any more, and what it held only ever saved work (a fetch in full per
URL) or counted the minute it was written in.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.state.database import SOURCE_CACHE, UPLOAD_SLOTS, Document

logger = logging.getLogger(__name__)

KEPT_BY_PERIOD = (SOURCE_CACHE, UPLOAD_SLOTS)


async def drop_out_of_use_collections(db: AsyncDatabase[Document], now: datetime) -> None:
    for name in await db.list_collection_names():
        for kept in KEPT_BY_PERIOD:
            period = kept.period_of(name)
            if name == kept.base or (period is not None and period.next_ends_at <= now):
                await db.drop_collection(name)
                logger.info("collection %s dropped: nothing in it is of use any more", name)
