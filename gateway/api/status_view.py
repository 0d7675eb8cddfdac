"""A request's status as clients see it: shared by GET /status/{id} and its event stream."""

from __future__ import annotations

import uuid
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

from gateway.api.dependencies import GatewayState
from gateway.api.errors import ApiError
from gateway.api.schemas import (
    Counts,
    QueueStatus,
    RequestStatusBody,
    RowPage,
    RowStatus,
    WebhookStatus,
)
from gateway.intake.request_store import find_request, webhook_record
from gateway.publishing.checkpoint import publishing_progress
from imgpipe.contract.messages import FINISHED_STATUSES, ImageOutcome
from imgpipe.contract.request_presets import presets_of
from imgpipe.state.database import RequestDocument
from imgpipe.state.request_state import RequestState, request_state
from imgpipe.state.retention import expiry_of
from imgpipe.state.row_outcomes import RowOutcome, RowState, read_rows
from imgpipe.state.webhook_deliveries import DeliveryStatus, WebhookDelivery
from imgpipe.storage.input_spool import ProductRow, read_input_spool
from imgpipe.storage.request_paths import download_url, status_url

DEFAULT_PAGE_ROWS = 500
MAX_PAGE_ROWS = 5_000


async def request_or_404(state: GatewayState, owner: str | None, request_id: uuid.UUID) -> RequestDocument:
    """The request, unless it is unknown (404) or expired (410, aggregator/expiry.py)."""
    request = await find_request(state.db, str(request_id), owner)
    if request is None:
        raise ApiError(404, "not_found", f"no request {request_id}")
    if "expired_at" in request:
        expired_at = request["expired_at"]
        raise ApiError(
            410,
            "expired",
            f"request {request_id} expired at {expired_at.isoformat()}: its retention is over and "
            "what it stored is deleted",
            expired_at=expired_at.isoformat(),
        )
    return request


def check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise ApiError(400, "invalid_page", f"offset must be 0 or more, not {offset}")
    if not 1 <= limit <= MAX_PAGE_ROWS:
        raise ApiError(400, "invalid_page", f"limit must be between 1 and {MAX_PAGE_ROWS}, not {limit}")


def _row_status(index: int, product: ProductRow, row: RowOutcome | None) -> RowStatus:
    return RowStatus(
        row=index,
        serial_number=product.serial_number,
        product_name=product.product_name,
        status=row.status if row else RowState.PENDING,
        images=row.images if row else [ImageOutcome(input_url=url) for url in product.input_urls],
    )


async def row_details(
    state: GatewayState, request: RequestDocument, offset: int, limit: int
) -> tuple[list[RowStatus], RowPage]:
    """Rows `offset` to `offset + limit - 1` in input order: finished rows with their outputs,
    the others as pending. Reads only the page's rows, however long the request."""
    request_id, total = request["_id"], request["rows_total"]
    stop = min(offset + limit, total)
    finished = await read_rows(state.db, request_id, offset, stop)
    details = []
    # Closed as soon as the page is read: the rest of the spool is never fetched.
    async with aclosing(read_input_spool(state.storage, request_id, offset)) as products:
        async for index, product in products:
            if index >= stop:
                break
            details.append(_row_status(index, product, finished.get(index)))
    next_url = (
        f"{status_url(state.base_url, request_id)}?rows=true&offset={stop}&limit={limit}"
        if stop < total
        else None
    )
    return details, RowPage(offset=offset, limit=limit, total=total, next_url=next_url)


async def _webhook_status(state: GatewayState, request: RequestDocument) -> WebhookStatus | None:
    if not request.get("webhook_url"):
        return None
    record = await webhook_record(state.db, request["_id"])
    if record is None:
        return WebhookStatus(url=request["webhook_url"], status=DeliveryStatus.PENDING, deliveries=[])
    return WebhookStatus(
        url=request["webhook_url"],
        status=DeliveryStatus(record["status"]),
        deliveries=[WebhookDelivery.model_validate(delivery) for delivery in record["deliveries"]],
    )


def _queue_status(state: GatewayState, request_id: str) -> QueueStatus | None:
    """From the gateway's last walk of the unfinished requests: a status poll reads no more."""
    position = state.unfinished.progress.queue_position(request_id)
    return None if position is None else QueueStatus.model_validate(position, from_attributes=True)


def _expires_at(state: GatewayState, request: RequestDocument, progress: RequestState) -> datetime | None:
    if not progress.finished:
        return None
    # Requests finished before retention existed have none stored: the expiry computes the same.
    completed_at = progress.completed_at or progress.updated_at
    return progress.expires_at or expiry_of(request, completed_at, state.lifecycle)


async def status_body(state: GatewayState, request: RequestDocument) -> RequestStatusBody:
    progress = await request_state(state.db, request)
    publishing = await publishing_progress(state.db, request["_id"])
    # Publishing rows is progress too: the state only moves once results come in.
    updated_at = max(progress.updated_at, publishing.progressed_at) if publishing else progress.updated_at
    return RequestStatusBody(
        request_id=request["_id"],
        status=progress.status,
        rows=Counts(total=request["rows_total"], done=progress.rows_done, failed=progress.rows_failed),
        images=Counts(
            total=request["images_total"],
            done=progress.images_done,
            failed=progress.images_failed,
        ),
        rows_published=publishing.rows_published if publishing else 0,
        quality=request["quality"],
        presets=presets_of(request),
        stalled=not progress.finished
        and datetime.now(UTC) - updated_at > timedelta(seconds=state.lifecycle.stall_seconds),
        created_at=request["created_at"],
        updated_at=updated_at,
        completed_at=progress.completed_at,
        expires_at=_expires_at(state, request, progress),
        download_url=(
            download_url(state.base_url, request["_id"]) if progress.status in FINISHED_STATUSES else None
        ),
        webhook=await _webhook_status(state, request),
        # A walk may not have seen the request finish yet: the state read here has.
        queue=None if progress.finished else _queue_status(state, request["_id"]),
    )
