"""Migrations of the stored layout: applied in order, each resumable after a kill, each logged.

A migration (`Migration`) names the items it migrates, by `_id` in ascending order (by default every
document of one collection), and migrates one item at a time with a function that must be
idempotent. The runner records how far it got (`progress/<name>` in the `layout` collection: the
last item done) about once a second, so a run killed at any point (kill -9 included) resumes after
the last recorded item and redoes at most the last second of items, which idempotence absorbs. A
finished migration is recorded as `migration/<name>` and never runs again. Listing the items may
scan a collection once: a migration runs at start, never on a hot path.

One run at a time (imgpipe/state/migration_lease.py): the aggregator runs the pending migrations at start,
before it joins its consumer group, and `imgpipe migrate` runs them by hand; a second starter
waits for the first. The gateways and processors do not wait, so a migration must leave the data
readable by both releases while it runs (add, then stop using; never change in place).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from imgpipe.config.settings import LifecycleSettings, Settings
from imgpipe.runtime.retrying import until_available
from imgpipe.state.database import LAYOUT, Document, TypedCollection, connect, database
from imgpipe.state.layout import FIRST_LAYOUT, LAYOUT_VERSION, StorageMarker, stored_marker, write_marker
from imgpipe.state.migration_lease import migration_lease
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.factory import open_storage

logger = logging.getLogger(__name__)
T = TypeVar("T")

CHECKPOINT_INTERVAL_S = 1.0
# A run whose heartbeat is older than this is dead; the next starter takes over.
LEASE_S = 30.0


@dataclass(frozen=True)
class MigrationContext:
    """What a migration works on."""

    db: AsyncDatabase[Document]
    storage: ObjectStorage
    lifecycle: LifecycleSettings


# The `_id`s of the items still to migrate, after the given one (None: from the first), ascending.
ItemLister = Callable[[MigrationContext, str | None], AsyncIterator[str]]


@dataclass(frozen=True)
class Migration:
    """One step of the layout. `name` is its record's `_id`: never rename a released migration."""

    name: str
    layout: int  # the layout the data is at once this migration (and those before it) ran
    description: str
    migrate: Callable[[MigrationContext, str], Awaitable[None]]  # one item; idempotent
    # Every document of `collection`, or `items` for anything else (stored objects, say).
    collection: TypedCollection[Any] | None = None
    items: ItemLister | None = None

    def item_ids(self, context: MigrationContext, after: str | None) -> AsyncIterator[str]:
        if self.items is not None:
            return self.items(context, after)
        if self.collection is None:
            raise ValueError(f"migration {self.name} names neither a collection nor its items")
        return _collection_ids(self.collection, context.db, after)


async def _collection_ids(
    collection: TypedCollection[Any], db: AsyncDatabase[Document], after: str | None
) -> AsyncIterator[str]:
    query = {} if after is None else {"_id": {"$gt": after}}
    async for document in collection.of(db).find(query, {"_id": 1}).sort("_id", 1):
        yield str(document["_id"])


def applied_id(name: str) -> str:
    return f"migration/{name}"


def progress_id(name: str) -> str:
    return f"progress/{name}"


@dataclass(frozen=True)
class PendingMigration:
    migration: Migration
    after: str | None  # the last item done by an earlier, interrupted run
    done: int


@dataclass(frozen=True)
class LayoutRecords:
    """What the `layout` collection says of the listed migrations: which are applied (in the list's
    order, the order they apply in) and how far an interrupted one got."""

    applied: dict[str, Document]
    progress: dict[str, Document]

    @property
    def layout(self) -> int:
        return max((int(record["layout"]) for record in self.applied.values()), default=FIRST_LAYOUT)

    def pending(self, migrations: Sequence[Migration]) -> list[PendingMigration]:
        return [
            PendingMigration(
                migration,
                self.progress.get(migration.name, {}).get("after"),
                int(self.progress.get(migration.name, {}).get("done", 0)),
            )
            for migration in migrations
            if migration.name not in self.applied
        ]


async def layout_records(db: AsyncDatabase[Document], migrations: Sequence[Migration]) -> LayoutRecords:
    """The records of the listed migrations, each read by `_id`: every service start reads them, and
    FerretDB answers only that from its primary key (two reads per migration, never a scan)."""
    layout = LAYOUT.of(db)
    applied: dict[str, Document] = {}
    progress: dict[str, Document] = {}
    for migration in migrations:
        record = await layout.find_one({"_id": applied_id(migration.name)})
        if record is not None:
            applied[migration.name] = record
            continue
        step = await layout.find_one({"_id": progress_id(migration.name)})
        if step is not None:
            progress[migration.name] = step
    return LayoutRecords(applied, progress)


async def newer_migrations(db: AsyncDatabase[Document], migrations: Sequence[Migration]) -> list[str]:
    """Migrations applied that this release does not list: a newer release's. Reads the whole (small)
    `layout` collection, so only `imgpipe migrate --dry-run` asks."""
    known = {applied_id(migration.name) for migration in migrations}
    records = [str(record["_id"]) async for record in LAYOUT.of(db).find({}, {"_id": 1})]
    return sorted(
        record.removeprefix(applied_id(""))
        for record in records
        if record.startswith(applied_id("")) and record not in known
    )


async def _record_progress(db: AsyncDatabase[Document], name: str, after: str, done: int) -> None:
    await LAYOUT.of(db).update_one(
        {"_id": progress_id(name)},
        {"$set": {"after": after, "done": done, "updated_at": datetime.now(UTC)}},
        upsert=True,
    )


async def _run_one(context: MigrationContext, pending: PendingMigration, holder: str) -> None:
    migration = pending.migration
    logger.info(
        "migration %s (layout %d) starts: %s; resuming after %r, %d items done before",
        migration.name,
        migration.layout,
        migration.description,
        pending.after,
        pending.done,
    )
    after, done, recorded_at = pending.after, pending.done, time.monotonic()
    async for item in migration.item_ids(context, after):
        if after is not None and item <= after:
            raise ValueError(
                f"migration {migration.name} listed {item!r} after {after!r}: list in ascending order"
            )
        await migration.migrate(context, item)
        after, done = item, done + 1
        if time.monotonic() - recorded_at >= CHECKPOINT_INTERVAL_S:
            await _record_progress(context.db, migration.name, after, done)
            recorded_at = time.monotonic()
            logger.info("migration %s: %d items done, the last %r", migration.name, done, after)
    record = {"_id": applied_id(migration.name), "layout": migration.layout, "items": done}
    # A run that outlived its lease may have applied it too: the items are idempotent.
    with contextlib.suppress(DuplicateKeyError):
        await LAYOUT.of(context.db).insert_one({**record, "applied_at": datetime.now(UTC), "by": holder})
    logger.info("migration %s applied: %d items", migration.name, done)


async def run_migrations(
    context: MigrationContext, migrations: Sequence[Migration], holder: str, lease_s: float = LEASE_S
) -> list[str]:
    """Apply every pending migration, in order, under the lease; the names this run applied."""
    records = await layout_records(context.db, migrations)
    applied: list[str] = []
    if records.pending(migrations):
        async with migration_lease(context.db, holder, lease_s):
            # Read again under the lease: the run we may have waited for applied some.
            for pending in (await layout_records(context.db, migrations)).pending(migrations):
                await _run_one(context, pending, holder)
                applied.append(pending.migration.name)
        records = await layout_records(context.db, migrations)
    else:
        logger.info("stored layout %d: no migration pending", records.layout)
    await write_marker(context.storage, StorageMarker(records.layout, tuple(records.applied)))
    return applied


async def count_items(context: MigrationContext, pending: PendingMigration) -> int:
    return sum([1 async for _ in pending.migration.item_ids(context, pending.after)])


async def describe_plan(context: MigrationContext, migrations: Sequence[Migration]) -> list[str]:
    """What `run_migrations` would do, as lines for a person; reads only."""
    records = await layout_records(context.db, migrations)
    marker = await stored_marker(context.storage)
    lines = [
        f"this release writes layout {LAYOUT_VERSION}; the database is at layout {records.layout}",
        "storage marker: "
        + (
            "none (objects are layout 1)"
            if marker is None
            else f"layout {marker.layout}, {len(marker.migrations)} migration(s)"
        ),
    ]
    lines += [
        f"applied by a newer release, unknown to this one: {name}"
        for name in await newer_migrations(context.db, migrations)
    ]
    pending = records.pending(migrations)
    for step in pending:
        migration = step.migration
        resume = "" if step.after is None else f", resuming after {step.after!r} ({step.done} done)"
        count = await count_items(context, step)
        lines.append(
            f"would apply {migration.name} (to layout {migration.layout}): {count} item(s){resume}: "
            + migration.description
        )
    if not pending:
        lines.append("no migration pending")
    return lines


def run_holder(service: str) -> str:
    """Who holds a run, for the logs and the lease record."""
    return f"{service}@{socket.gethostname()}:{os.getpid()}"


async def with_migration_context(settings: Settings, use: Callable[[MigrationContext], Awaitable[T]]) -> T:
    client = connect(settings.database)
    try:
        storage = open_storage(settings.storage, settings.base_url)
        return await use(MigrationContext(database(client, settings.database), storage, settings.lifecycle))
    finally:
        await client.close()


def migrate(settings: Settings, migrations: Sequence[Migration], service: str) -> list[str]:
    """Apply the pending migrations from synchronous code (a service's start, the CLI); the names
    applied."""
    holder = run_holder(service)

    async def run() -> list[str]:
        return await with_migration_context(
            settings, lambda context: run_migrations(context, migrations, holder)
        )

    # A database or store down at start is waited out, as everywhere else; the migrations resume.
    return asyncio.run(until_available(run, "migrating the stored layout"))


def migration_plan(settings: Settings, migrations: Sequence[Migration]) -> list[str]:
    return asyncio.run(with_migration_context(settings, lambda context: describe_plan(context, migrations)))
