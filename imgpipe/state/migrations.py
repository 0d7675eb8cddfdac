"""The stored layout's migrations, in the order they apply (imgpipe/state/migration_runner.py runs them).

Adding one: write a function that migrates one item (a document's `_id`, or an object's key) and is
idempotent, then list it below with a new name and the layout it brings the data to; raise
`LAYOUT_VERSION` (imgpipe/state/layout.py) when it changes what the code writes. For example:

    async def mark_request_layout_2(context: MigrationContext, request_id: str) -> None:
        await REQUESTS.of(context.db).update_one({"_id": request_id}, {"$set": {"layout": 2}})

    Migration("0001-requests-layout-2", 2, "mark every request as layout 2", mark_request_layout_2,
              collection=REQUESTS)

A released migration is never renamed, removed or reordered: its name is its record.

Layout 2 (retention) adds optional fields only (a request's `retention_s` and `expired_at`, a
state's `expires_at`, a row message's `retention_s`), new collections, and outputs stored under
`outputs/` by period; documents of layout 1 read as they are (their missing fields have
defaults), and the one thing they lack is an expiry, which 0001 gives them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from imgpipe.state.database import REQUESTS
from imgpipe.state.expiry_queue import ExpiryQueue
from imgpipe.state.migration_runner import Migration, MigrationContext
from imgpipe.state.request_state import RequestState, advance_state, request_state
from imgpipe.state.retention import retention_of


async def give_finished_request_its_expiry(context: MigrationContext, request_id: str) -> None:
    """A request finished before retention existed (layout 1) was never queued to expire: it gets
    its retention from the upgrade on, recorded in a new state version (so its status says when)
    and queued. Counted from the upgrade, not from its completion, so that an upgrade deletes
    nothing at once that nobody was told would go."""
    request = await REQUESTS.of(context.db).find_one({"_id": request_id})
    if request is None or "expired_at" in request:
        return
    state = await request_state(context.db, request)
    if not state.finished or state.expires_at is not None:
        return  # unfinished (queued once finished), or finished by this release
    expires_at = datetime.now(UTC) + retention_of(request, context.lifecycle)

    def with_expiry(head: RequestState) -> RequestState | None:
        return None if head.expires_at is not None else replace(head, expires_at=expires_at)

    final = await advance_state(context.db, request_id, state, with_expiry)
    if final.expires_at is not None:
        await ExpiryQueue(context.db).add(request_id, final.expires_at)


# Its record's `applied_at` is when the data became layout 2: the requests accepted before then are
# the ones whose outputs are under `images/` (aggregator/output_expiry.py).
FIRST_RETENTION_MIGRATION = "0001-finished-requests-expire"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        FIRST_RETENTION_MIGRATION,
        2,
        "give every request finished before retention its expiry, a retention from now, and queue it",
        give_finished_request_its_expiry,
        collection=REQUESTS,
    ),
)
