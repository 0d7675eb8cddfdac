"""The gateway's reads and writes of a request: its documents, its webhook record, the count of
unfinished requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from gateway.publishing.checkpoint import insert_checkpoint
from imgpipe.contract.presets import Preset
from imgpipe.contract.request_presets import stored_presets
from imgpipe.state.database import (
    REQUESTS,
    UNFINISHED_REQUESTS,
    WEBHOOKS,
    Document,
    RequestDocument,
    WebhookDocument,
)
from imgpipe.state.request_state import insert_initial_state
from imgpipe.state.unfinished_requests import mark_unfinished


async def insert_request(
    db: AsyncDatabase[Document],
    request_id: str,
    rows_total: int,
    images_total: int,
    webhook_url: str | None,
    owner: str | None,
    quality: int,
    presets: Sequence[Preset],
    retention_s: float,
) -> None:
    """Record an accepted request. Everything it needs goes first: the request document is what
    makes a request exist, and it must never be without the checkpoint that gets its rows
    published, its first state, or its entry among the unfinished requests."""
    now = datetime.now(UTC)
    await insert_checkpoint(db, request_id, rows_total, now)
    await insert_initial_state(db, request_id, now)
    await mark_unfinished(db, request_id)
    await REQUESTS.of(db).insert_one(
        {
            "_id": request_id,
            "rows_total": rows_total,
            "images_total": images_total,
            "webhook_url": webhook_url,
            "owner": owner,
            "quality": quality,
            "presets": stored_presets(presets),
            "retention_s": retention_s,
            "created_at": now,
            # The newest version of the request's state, or one before it (imgpipe/state/request_state.py).
            "state_version": 0,
        }
    )


async def find_request(
    db: AsyncDatabase[Document], request_id: str, owner: str | None
) -> RequestDocument | None:
    """The request if `owner` may see it: another key's request looks exactly like a missing one.

    The owner is compared here, not in the filter: FerretDB answers only a plain `_id` filter
    without scanning the collection."""
    request = await REQUESTS.of(db).find_one({"_id": request_id})
    return request if request is not None and request["owner"] == owner else None


async def webhook_record(db: AsyncDatabase[Document], request_id: str) -> WebhookDocument | None:
    """The request's webhook deliveries so far (`status`, `deliveries`); None before the first."""
    return await WEBHOOKS.of(db).find_one({"_id": request_id})


async def count_unfinished_requests(db: AsyncDatabase[Document]) -> int:
    return await UNFINISHED_REQUESTS.of(db).count_documents({})
