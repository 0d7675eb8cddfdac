"""MongoDB access shared by the services: one client, and each collection with the type of its documents.

Uses PyMongo's async API (`AsyncMongoClient`), the official successor of Motor. Only features
that both MongoDB 7 and FerretDB 1.24 support are used: no transactions, no change streams.

Every access on a hot path is an insert or a read, update or delete of one document by a plain
`_id`. FerretDB 1.24's SQLite backend pushes exactly that filter shape down to SQL; any other
filter decodes the whole collection (about 180 µs per document), so a query by `request_id`
would cost in proportion to everything ever stored. With a real MongoDB the `_id` index serves
the same accesses, so no other index is needed. The only other read is the listing of
`unfinished_requests`, whose size is the number of unfinished requests, not the database's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NotRequired, TypedDict, TypeVar, cast, final

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from imgpipe.config.settings import DatabaseSettings
from imgpipe.state.command_shapes import CommandShapeLogger
from imgpipe.storage.periods import Period

# A document as the driver hands it over; the collections below say what each one holds.
Document = dict[str, Any]
DocumentT = TypeVar("DocumentT", bound=Mapping[str, Any])


@dataclass(frozen=True)
class TypedCollection(Generic[DocumentT]):
    """A collection's name bound to the type of its documents, so mypy checks their fields."""

    name: str

    def of(self, db: AsyncDatabase[Document]) -> AsyncCollection[DocumentT]:
        # Only the static type changes: the driver decodes every document as a plain dict. A
        # projection returns fewer fields than the type lists: read only the ones it asked for.
        return cast("AsyncCollection[DocumentT]", db[self.name])


@dataclass(frozen=True)
class PeriodCollections(Generic[DocumentT]):
    """Documents useful for a fixed time after they are written, kept in a collection per period of
    that length, `<base>_<length>_<index>` (imgpipe/storage/periods.py). Once the period after a document's
    has ended it is out of use, so a period's collection is dropped whole then
    (aggregator/period_collection_expiry.py): nothing is read, whatever it holds."""

    base: str

    def at(self, length_s: float, moment: datetime) -> TypedCollection[DocumentT]:
        return self.of_period(Period.at(length_s, moment))

    def of_period(self, period: Period) -> TypedCollection[DocumentT]:
        return TypedCollection[DocumentT](f"{self.base}_{period.length_s}_{period.index}")

    def period_of(self, name: str) -> Period | None:
        """The period of a collection of these, by its name; None for any other collection."""
        match = re.fullmatch(rf"{re.escape(self.base)}_([1-9][0-9]{{0,9}})_([0-9]{{1,12}})", name)
        return None if match is None else Period(int(match.group(1)), int(match.group(2)))


class RequestDocument(TypedDict):
    _id: str
    rows_total: int
    images_total: int
    webhook_url: str | None
    owner: str | None  # the API key's owner id; None when the API is open
    quality: int
    # The presets it asked for, each as defined when it was accepted (imgpipe/contract/presets.py); missing
    # in requests accepted before presets existed.
    presets: NotRequired[list[dict[str, Any]]]
    # How long the request is kept once finished; missing in requests accepted before retention
    # existed (imgpipe/state/retention.py says what they are kept for).
    retention_s: NotRequired[float]
    created_at: datetime
    state_version: int  # a hint to the newest version in request_states
    # Set when the expiry starts deleting the request: from then on its URLs answer 410 Gone.
    expired_at: NotRequired[datetime]


class RowOutcomeDocument(TypedDict):
    _id: str
    outcome: str  # JSON: see imgpipe/state/row_outcomes.py


class RowChunkDocument(TypedDict):
    _id: str
    rows: str  # JSON: see imgpipe/state/row_outcomes.py


class UnfinishedRequestDocument(TypedDict):
    _id: str


class PublishingDocument(TypedDict):
    _id: str
    rows_total: int
    rows_published: int
    done: bool
    heartbeat: datetime  # the publishing gateway's lease
    progressed_at: datetime
    takeovers: NotRequired[int]  # set by the first takeover


class PublishingClaimDocument(TypedDict):
    _id: str
    at: datetime


class ExpiryEntryDocument(TypedDict):
    _id: str  # "<bucket>/<n>" (imgpipe/state/expiry_queue.py)
    request_id: str
    due: str  # expire, or forget (the tombstone)


class ExpiryCursorDocument(TypedDict):
    _id: str  # "cursor"
    bucket: int  # the first bucket not yet handled


class OutputPeriodDocument(TypedDict):
    _id: str  # the period's prefix, "outputs/<retention_s>/<index>" (imgpipe/storage/output_periods.py)
    drained_at: datetime  # when no unfinished request could use it any more
    deleted_at: NotRequired[datetime]  # `images`, the outputs from before periods, once deleted


class UploadSlotDocument(TypedDict):
    _id: str  # "<owner>/<minute>/<n>" (gateway/api/upload_rate.py)
    at: datetime


class WebhookDocument(TypedDict):
    _id: str
    # What imgpipe/state/webhook_deliveries.py defines: a DeliveryStatus (retrying, delivered or
    # failed), and each attempt a WebhookDelivery's fields.
    status: str
    deliveries: list[Document]


# Final, so that `"fetching_since" in document` tells a claim from an entry.
@final
class SourceClaimDocument(TypedDict):
    """A URL's first fetch, claimed by the worker doing it (processors/source_cache.py)."""

    _id: str
    fetching_since: datetime


class SourceEntry(TypedDict):
    """What a source last sent for one owner's URL: the processors' entry as they pass it around
    and keep it in memory, and every field of its stored document below (one shape, so no field
    is mapped by hand). Never changed in place: a new answer from the source is a new entry."""

    etag: str | None
    last_modified: str | None
    source_sha256: str
    bytes_in: int
    width: int
    height: int
    # The source said `no-cache`: never use the entry without asking the source first.
    no_cache: bool
    fetched_at: datetime
    validated_by: str  # the request during which the source last confirmed these bytes


@final
class SourceEntryDocument(SourceEntry):
    """A source cache entry as stored: the entry, under its key, with the URL it is for."""

    _id: str  # entry_id(owner, url)
    url: str


# One writer per document. FerretDB 1.24 (SQLite) applies an update by reading the document
# and writing it back whole, so two writers updating one document at once undo each other
# (measured: concurrent $inc on different fields lost ~40% of them). Hence the split:
# what was accepted: inserted by the gateway; the aggregator moves its state hint
REQUESTS = TypedCollection[RequestDocument]("requests")
# "<id>#<version>": a request's progress, insert-only; its fields are RequestState's, mapped in
# imgpipe/state/request_state.py alone
REQUEST_STATES = TypedCollection[Document]("request_states")
# "<id>:<row>": a finished row, insert-only: the aggregator
ROW_OUTCOMES = TypedCollection[RowOutcomeDocument]("row_outcomes")
# "<id>/<chunk>": a chunk of finished rows, inserted once complete: the aggregator
ROW_CHUNKS = TypedCollection[RowChunkDocument]("row_chunks")
# one per unfinished request: gateway inserts, aggregator deletes
UNFINISHED_REQUESTS = TypedCollection[UnfinishedRequestDocument]("unfinished_requests")
# a request's publishing checkpoint and lease: the gateways
PUBLISHING = TypedCollection[PublishingDocument]("publishing")
# "<id>/<n>": the n-th takeover of a publishing, insert-only
PUBLISHING_CLAIMS = TypedCollection[PublishingClaimDocument]("publishing_claims")
# "<owner>/<minute>/<n>": the n-th upload an owner had accepted in that minute of the clock,
# insert-only: the gateways; a collection per day
UPLOAD_SLOTS = PeriodCollections[UploadSlotDocument]("upload_slots")
# "<bucket>/<n>": a request due to expire (or be forgotten) in that bucket of time, insert-only:
# the aggregators queue, the expiry deletes
EXPIRY_QUEUE = TypedCollection[ExpiryEntryDocument]("expiry_queue")
# how far the expiry has got: the expiry (on one aggregator at a time)
EXPIRY_CURSOR = TypedCollection[ExpiryCursorDocument]("expiry_cursor")
# an output period no unfinished request can use, waiting out a retention before its outputs are
# deleted: the expiry
OUTPUT_PERIODS = TypedCollection[OutputPeriodDocument]("output_periods")
# a request's webhook deliveries: the aggregator's webhook agent
WEBHOOKS = TypedCollection[WebhookDocument]("webhooks")
# The source cache, a collection per period of its time to live: per owner and source URL,
# "<sha256>", the validators and content hash the source last sent, or the claim of its first
# fetch. The processors replace an entry whole; two writing at once write the same answer, the last
# one stays.
SOURCE_CACHE = PeriodCollections[SourceEntryDocument | SourceClaimDocument]("source_cache")
# The stored layout's migrations (imgpipe/state/migration_runner.py): "run/<n>" a run's lease, inserted
# then moved by its holder; "progress/<name>" and "migration/<name>" (applied), by the lease holder
LAYOUT = TypedCollection[Document]("layout")


_DUPLICATE_KEY = 11000


def taken_positions(error: BulkWriteError) -> list[int]:
    """The positions of the documents an unordered `insert_many` did not insert because their
    `_id` was taken; `error` itself when anything else failed."""
    failures = error.details["writeErrors"]
    if any(failure["code"] != _DUPLICATE_KEY for failure in failures):
        raise error
    return [failure["index"] for failure in failures]


def connect(config: DatabaseSettings) -> AsyncMongoClient[Document]:
    listeners = [CommandShapeLogger()] if config.log_database_commands else []
    return AsyncMongoClient(
        config.mongodb_url, serverSelectionTimeoutMS=5000, tz_aware=True, event_listeners=listeners
    )


def database(client: AsyncMongoClient[Document], config: DatabaseSettings) -> AsyncDatabase[Document]:
    return client[config.mongodb_database]
