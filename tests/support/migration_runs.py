"""A migration for the tests of the migration runner, run in a process of its own so a test can kill
it (-9) midway: it migrates every document of a collection the test fills, each item takes a moment
and records, in `migration_test_effects`, every time it is migrated, so the test counts what a
resumed run redid.

    python -m tests.support.migration_runs NAME run|plan    (with a stack's IMGPIPE_* environment)
"""

from __future__ import annotations

import asyncio
import sys

from imgpipe.config.settings import Settings
from imgpipe.runtime.logs import configure_logging
from imgpipe.state.database import Document, TypedCollection
from imgpipe.state.layout import LAYOUT_VERSION
from imgpipe.state.migration_runner import (
    Migration,
    MigrationContext,
    describe_plan,
    run_holder,
    run_migrations,
    with_migration_context,
)

ITEMS = tuple(f"item-{n:03d}" for n in range(20))
EFFECTS = "migration_test_effects"
ITEM_S = 0.2
# Short, so that the test's second run takes over from the killed one soon.
LEASE_S = 2.0


def items_collection(name: str) -> TypedCollection[Document]:
    """What the test migration migrates: one document per item, which the test inserts."""
    return TypedCollection[Document](f"migration_test_items_{name}")


def test_migration(name: str) -> Migration:
    async def migrate_item(context: MigrationContext, item: str) -> None:
        await asyncio.sleep(ITEM_S)
        await context.db[EFFECTS].insert_one({"migration": name, "item": item})

    # To this release's layout, as the last migration of a release is.
    return Migration(
        name, LAYOUT_VERSION, "a test's slow migration", migrate_item, collection=items_collection(name)
    )


async def _main(name: str, mode: str) -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    migrations = [test_migration(name)]
    if mode == "plan":
        for line in await with_migration_context(
            settings, lambda context: describe_plan(context, migrations)
        ):
            print(line)
        return
    holder = run_holder("test")
    await with_migration_context(
        settings, lambda context: run_migrations(context, migrations, holder, LEASE_S)
    )


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2]))
