"""Dropping the source cache's expired periods: a whole collection once every entry in it is too
old to use (imgpipe/source_cache_periods.py).

The collections are found by listing the database's collection names (a few per period), and a
period's collection is dropped whole: nothing is read, whatever it holds. The one collection of
the cache from before periods (`source_cache`) is dropped too: the new code never reads it, and a
cache's loss costs only one fetch in full per URL.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.database import Document
from imgpipe.source_cache_periods import UNPERIODED_NAME, SourceCachePeriod

logger = logging.getLogger(__name__)


async def drop_expired_source_cache(db: AsyncDatabase[Document], now: datetime) -> None:
    for name in await db.list_collection_names():
        period = SourceCachePeriod.parse(name)
        if name == UNPERIODED_NAME or (period is not None and period.expired_by(now)):
            await db.drop_collection(name)
            logger.info("source cache collection %s dropped", name)
