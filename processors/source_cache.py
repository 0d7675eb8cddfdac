"""The revalidating source cache: what each source URL last sent, per owner, in MongoDB.

One document per owner and URL, `_id` the SHA-256 of both (a fixed-size string whatever the URL
holds), in the collection of the period of the time to live its bytes were fetched in (a
collection per period, dropped whole once every entry in it is too old: `PeriodCollections`):
the source's validators (`ETag`, `Last-Modified`), the SHA-256 of the bytes it sent, their size
and the output's pixel size, when the source last sent the bytes, and the request during which it
last confirmed them. A lookup is one read by `_id`, the one filter
FerretDB answers from its primary key (two when the entry is in the previous period's collection);
a write inserts the document, or replaces it by `_id`.

An entry is used for `ttl_s` after the source last sent the bytes; after that the image is fetched
in full, as if never seen. The cache only ever saves work: when the database cannot be reached,
a lookup finds nothing and a write is skipped, and the image is fetched as without a cache.

A URL nobody has fetched yet, when it may appear in other rows of its request, is claimed
first: the worker that inserts the document (holding only `fetching_since`) fetches, and
replaces it with the entry; a worker that finds the claim waits for the entry instead of
fetching too (processors/source_plan.py says when a row claims, waits, writes and forgets). The
insert is the arbiter: `_id` is unique, so exactly one of any number of workers on any number
of hosts wins it. The entries of a row's other new URLs are inserted together when the row is
done.

Each worker also remembers the entries it read or wrote lately (bounded): for a URL in one row
of its request, one of those answers instead of the database. A catalogue uploaded again goes
to the same workers (the gateway places a request's rows by their position), so its URLs are
revalidated with their sources without a database read each, as long as a worker's share fits
in its memory.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from imgpipe.runtime.retrying import UNAVAILABLE
from imgpipe.state.database import (
    SOURCE_CACHE,
    Document,
    SourceClaimDocument,
    SourceEntry,
    SourceEntryDocument,
    taken_positions,
)
from imgpipe.storage.periods import Period

logger = logging.getLogger(__name__)

SourceDocument = SourceEntryDocument | SourceClaimDocument


@dataclass(frozen=True)
class Fetching:
    """Another worker claimed the URL's first fetch at `since` and has not finished it."""

    since: datetime


def entry_id(owner: str | None, url: str) -> str:
    return hashlib.sha256(f"{owner or ''}\n{url}".encode()).hexdigest()


# Entries a worker read or wrote lately, kept in its memory: about 700 bytes each, 35 MB at most.
# A catalogue's second run to the same workers then asks only the sources: measured on the bench
# stack (2,000 photos), 1.1 s instead of 2.0 s, the database's CPU 0.24 s instead of 0.88 s.
RECENT_ENTRIES = 50_000


class SourceCache:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        ttl_s: float,
        period_s: float | None = None,
        recent_entries: int = RECENT_ENTRIES,
    ) -> None:
        """`period_s`: the length of the periods entries are kept by (default `ttl_s`); an entry
        not written again lasts between one and two of them."""
        self._db = db
        self._period_s = period_s or ttl_s
        self._ttl = timedelta(seconds=ttl_s)
        self._recent: OrderedDict[str, SourceEntry] = OrderedDict()
        self._recent_entries = recent_entries

    def _collections(self) -> tuple[AsyncCollection[SourceDocument], AsyncCollection[SourceDocument]]:
        """This period's collection and the one before (whose entries may be within the time to live)."""
        current = Period.at(self._period_s, datetime.now(UTC))
        return SOURCE_CACHE.of_period(current).of(self._db), SOURCE_CACHE.of_period(current.previous).of(
            self._db
        )

    def _collection(self, moment: datetime) -> AsyncCollection[SourceDocument]:
        """The collection of the period `moment` falls in."""
        return SOURCE_CACHE.at(self._period_s, moment).of(self._db)

    async def _find(self, key: str) -> SourceDocument | None:
        current, previous = self._collections()
        document = await current.find_one({"_id": key})
        return document if document is not None else await previous.find_one({"_id": key})

    async def lookup(
        self, owner: str | None, url: str, recent_will_do: bool = False
    ) -> SourceEntry | Fetching | None:
        """The entry of `url` or its claim, unless there is neither or the entry has expired.

        `recent_will_do`: an entry this worker read or wrote lately may answer instead of the
        database. It may be stale (another worker fetched the URL again since), which costs at
        most a fetch in full: its validators then no longer match, and the source answers 200.
        Not for a URL other workers may be fetching in the same request: its claim and the
        request that last confirmed it are the database's to say."""
        key = entry_id(owner, url)
        if recent_will_do:
            recent = self._recent.get(key)
            if recent is not None and not self._expired(recent["fetched_at"]):
                self._recent.move_to_end(key)
                return recent
        try:
            document = await self._find(key)
        except UNAVAILABLE as error:
            logger.warning("source cache lookup skipped, the database is unavailable: %r", error)
            return None
        if document is not None and "fetching_since" in document:
            return Fetching(document["fetching_since"])
        if document is None or self._expired(document["fetched_at"]):
            return None
        # The document is the entry (its key and URL beside): nothing is copied out of it.
        self._keep_recent(key, document)
        return document

    def _expired(self, fetched_at: datetime) -> bool:
        return datetime.now(UTC) - fetched_at > self._ttl

    def _keep_recent(self, key: str, entry: SourceEntry) -> None:
        self._recent[key] = entry
        self._recent.move_to_end(key)
        while len(self._recent) > self._recent_entries:
            self._recent.popitem(last=False)

    async def claim(self, owner: str | None, url: str) -> bool:
        """True when this worker is the one to fetch `url` first: no document existed, and now its
        claim does. False when any document exists (a claim, or an entry too old or unusable)."""
        try:
            now = datetime.now(UTC)
            await self._collection(now).insert_one({"_id": entry_id(owner, url), "fetching_since": now})
        except DuplicateKeyError:
            return False
        except UNAVAILABLE as error:
            logger.warning("source cache claim skipped, the database is unavailable: %r", error)
        return True

    async def remember(self, owner: str | None, url: str, entry: SourceEntry) -> None:
        key = entry_id(owner, url)
        self._keep_recent(key, entry)
        document = _entry_document(key, url, entry)
        collection = self._collection(entry["fetched_at"])
        try:
            try:
                await collection.replace_one({"_id": key}, document, upsert=True)
            except DuplicateKeyError:
                # Another worker inserted the entry since this one looked (FerretDB does not retry
                # an upsert that lost the race): it exists now, so this write replaces it.
                await collection.replace_one({"_id": key}, document, upsert=True)
        except UNAVAILABLE as error:
            logger.warning("source cache entry not written, the database is unavailable: %r", error)

    async def remember_new(self, owner: str | None, entries: Sequence[tuple[str, SourceEntry]]) -> None:
        """Entries of URLs that had no document when looked up, in one insert: measured on
        FerretDB, inserting five documents at once costs a third of five inserts. One that has
        a document by now (an expired entry, or another request's) is replaced instead."""
        documents = []
        for url, entry in entries:
            key = entry_id(owner, url)
            self._keep_recent(key, entry)
            documents.append(_entry_document(key, url, entry))
        try:
            # A row's first entries are fetched together, in this period (a period that turned
            # meanwhile only shortens their stay by what is left of it).
            await self._collection(datetime.now(UTC)).insert_many(documents, ordered=False)
        except BulkWriteError as error:
            for position in taken_positions(error):
                await self.remember(owner, *entries[position])
        except UNAVAILABLE as error:
            logger.warning("source cache entries not written, the database is unavailable: %r", error)

    async def forget(self, owner: str | None, url: str) -> None:
        """Nothing of the source's answers may be kept (`no-store`), or a claim ends unfetched."""
        key = entry_id(owner, url)
        self._recent.pop(key, None)
        try:
            for collection in self._collections():
                await collection.delete_one({"_id": key})
        except UNAVAILABLE as error:
            logger.warning("source cache entry not deleted, the database is unavailable: %r", error)


def _entry_document(key: str, url: str, entry: SourceEntry) -> SourceEntryDocument:
    # An entry read from the database carries its key and URL already: the same values.
    return {"_id": key, "url": url, **entry}
