"""The stored layout's migrations, in the order they apply (imgpipe/migration_runner.py runs them).

Adding one: write a function that migrates one item (a document's `_id`, or an object's key) and is
idempotent, then list it below with a new name and the layout it brings the data to; raise
`LAYOUT_VERSION` (imgpipe/layout.py) when it changes what the code writes. For example:

    async def mark_request_layout_2(context: MigrationContext, request_id: str) -> None:
        await REQUESTS.of(context.db).update_one({"_id": request_id}, {"$set": {"layout": 2}})

    Migration("0001-requests-layout-2", 2, "mark every request as layout 2", mark_request_layout_2,
              collection=REQUESTS)

A released migration is never renamed, removed or reordered: its name is its record. Layout 1 (what
release 8261b3e wrote) needs none.
"""

from __future__ import annotations

from imgpipe.migration_runner import Migration

MIGRATIONS: tuple[Migration, ...] = ()
