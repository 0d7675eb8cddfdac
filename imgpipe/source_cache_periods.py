"""The source cache kept by period of its time to live: one collection per period, dropped whole.

An entry is useful for `IMGPIPE_SOURCE_CACHE_TTL` after its source last sent the bytes
(`fetched_at`), so it is kept in the collection of the period of that length that `fetched_at`
falls in, `source_cache_<ttl>_<index>`. Every entry of a period has expired once the next period
has ended: the collection is then dropped, which costs nothing in proportion to what it held.
A lookup reads the current period's collection, then the previous one's: two `_id` reads at most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from imgpipe.database import SourceClaimDocument, SourceEntryDocument, TypedCollection
from imgpipe.periods import Period

SourceCacheCollection = TypedCollection[SourceEntryDocument | SourceClaimDocument]

# The one collection of the source cache before it was kept by period: a cache, dropped whole.
UNPERIODED_NAME = "source_cache"
_NAME = re.compile(r"source_cache_([1-9][0-9]{0,9})_([0-9]{1,12})")


@dataclass(frozen=True, order=True)
class SourceCachePeriod(Period):
    @classmethod
    def parse(cls, name: str) -> SourceCachePeriod | None:
        match = _NAME.fullmatch(name)
        return None if match is None else cls(int(match.group(1)), int(match.group(2)))

    @property
    def collection(self) -> SourceCacheCollection:
        return SourceCacheCollection(f"source_cache_{self.length_s}_{self.index}")

    def expired_by(self, moment: datetime) -> bool:
        """Whether every entry fetched in the period has outlived the time to live by `moment`."""
        return self.ends_at + timedelta(seconds=self.length_s) <= moment
