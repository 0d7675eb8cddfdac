"""Finish a request once every row is counted: output CSV, completion event, final state.

The order matters for crash safety: the event is published before the final state is written,
so a crash in between leaves the request unfinished and it is finished again (the CSV is
rewritten atomically; downstream may see the event twice, never zero times).

The output CSV is streamed: the input spool and the row chunks are read side by side, one chunk
at a time, and the CSV goes to storage as it is written, so finishing a million-row request holds
one chunk in memory, not the request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from aggregator.output_csv import OutputRow, write_output_csv
from imgpipe.config.settings import LifecycleSettings
from imgpipe.contract.messages import ImageOutcome, RequestCounts, RequestEvent, RequestStatus
from imgpipe.contract.request_presets import presets_of
from imgpipe.state.database import Document, RequestDocument
from imgpipe.state.expiry_queue import ExpiryQueue
from imgpipe.state.request_state import RequestState, advance_state
from imgpipe.state.retention import expiry_of
from imgpipe.state.row_outcomes import chunks_in_order
from imgpipe.state.unfinished_requests import unmark_unfinished
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.input_spool import read_input_spool
from imgpipe.storage.request_paths import download_url

logger = logging.getLogger(__name__)

PublishEvent = Callable[[RequestEvent], Awaitable[None]]


class RowWithoutOutcome(Exception):
    """A counted row has no stored outcome (an update lost by FerretDB): the repair republishes it."""


def ready_to_finish(request: RequestDocument, state: RequestState) -> bool:
    return not state.finished and state.rows_finished >= request["rows_total"]


def _final_status(state: RequestState) -> RequestStatus:
    if state.images_failed or state.rows_failed:
        return RequestStatus.COMPLETED_WITH_ERRORS
    return RequestStatus.COMPLETED


def _output_columns(images: Sequence[ImageOutcome], preset_names: Sequence[str]) -> list[list[str | None]]:
    """A row's output URLs by column: the JPEGs', then each preset's variants'."""
    variants = [{variant.preset: variant.output_url for variant in image.variants or ()} for image in images]
    return [
        [image.output_url for image in images],
        *([of_image.get(name) for of_image in variants] for name in preset_names),
    ]


async def _output_rows(
    db: AsyncDatabase[Document],
    storage: ObjectStorage,
    request_id: str,
    rows_total: int,
    preset_names: Sequence[str],
) -> AsyncIterator[OutputRow]:
    async with aclosing(read_input_spool(storage, request_id)) as products:
        async for rows, outcomes in chunks_in_order(db, request_id, rows_total):
            for row in rows:
                spooled = await anext(products, None)
                if spooled is None:
                    return
                outcome = outcomes.get(row)
                if outcome is None:
                    raise RowWithoutOutcome(
                        f"row {row} of request {request_id} is counted but has no outcome"
                    )
                yield spooled[1], _output_columns(outcome.images, preset_names)


async def finish_request(
    db: AsyncDatabase[Document],
    storage: ObjectStorage,
    base_url: str,
    lifecycle: LifecycleSettings,
    request: RequestDocument,
    state: RequestState,
    publish: PublishEvent,
    expiry_queue: ExpiryQueue,
) -> RequestState:
    """Finish the request if every row is counted; return its state as it then stands."""
    if not ready_to_finish(request, state):
        return state
    request_id = request["_id"]
    preset_names = [preset.name for preset in presets_of(request)]
    try:
        await write_output_csv(
            _output_rows(db, storage, request_id, request["rows_total"], preset_names),
            preset_names,
            storage,
            request_id,
        )
    except RowWithoutOutcome as missing:
        logger.warning("not finishing request %s yet: %s", request_id, missing)
        return state
    status = _final_status(state)
    completed_at = datetime.now(UTC)
    expires_at = expiry_of(request, completed_at, lifecycle)
    # Queued before the final state is written: a crash in between finishes the request again,
    # which queues it again (the expiry then finds the state's own expires_at: see aggregator/expiry.py).
    await expiry_queue.add(request_id, expires_at)
    await publish(
        RequestEvent(
            type="request.completed",
            request_id=request_id,
            status=status,
            counts=RequestCounts(
                **state.counts(), rows_total=request["rows_total"], images_total=request["images_total"]
            ),
            quality=request["quality"],
            download_url=download_url(base_url, request_id),
            created_at=request["created_at"],
            completed_at=completed_at,
            expires_at=expires_at,
            presets=preset_names or None,
        )
    )

    def finished(head: RequestState) -> RequestState | None:
        if head.finished:
            return None
        return replace(
            head, status=status, completed_at=completed_at, updated_at=completed_at, expires_at=expires_at
        )

    final = await advance_state(db, request_id, state, finished)
    await unmark_unfinished(db, request_id)
    return final
