"""A request's status as clients see it: shared by GET /status/{id} and its event stream."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from gateway.dependencies import GatewayState
from gateway.errors import ApiError
from gateway.publishing_checkpoint import publishing_progress
from gateway.request_store import find_request, finished_rows, webhook_record
from gateway.schemas import Counts, RequestStatusBody, RowImage, RowStatus, WebhookDelivery, WebhookStatus
from imgpipe.database import Document
from imgpipe.input_spool import input_spool_path, read_input_spool
from imgpipe.messages import FINISHED_STATUSES, RequestStatus
from imgpipe.request_paths import download_url, request_dir


async def request_or_404(state: GatewayState, owner: str | None, request_id: uuid.UUID) -> Document:
    request = await find_request(state.db, str(request_id), owner)
    if request is None:
        raise ApiError(404, "not_found", f"no request {request_id}")
    return request


async def row_details(state: GatewayState, request_id: str) -> list[RowStatus]:
    """Every row in input order: finished rows with their outputs, the others as pending."""
    finished = {row["row"]: row async for row in finished_rows(state.db, request_id)}
    spool = input_spool_path(request_dir(state.settings.processed_images_dir, request_id))
    details = []
    for index, product in enumerate(read_input_spool(spool)):
        row = finished.get(index)
        images = (
            [RowImage.model_validate(image) for image in row["images"]]
            if row
            else [RowImage(input_url=url, output_url=None, error=None) for url in product.input_urls]
        )
        details.append(
            RowStatus(
                row=index,
                serial_number=product.serial_number,
                product_name=product.product_name,
                status=row["status"] if row else "pending",
                images=images,
            )
        )
    return details


async def _webhook_status(state: GatewayState, request: Document) -> WebhookStatus | None:
    if not request.get("webhook_url"):
        return None
    record = await webhook_record(state.db, request["_id"]) or {"status": "pending", "deliveries": []}
    return WebhookStatus(
        url=request["webhook_url"],
        status=record["status"],
        deliveries=[WebhookDelivery.model_validate(d) for d in record["deliveries"]],
    )


async def status_body(state: GatewayState, request: Document) -> RequestStatusBody:
    status = RequestStatus(request["status"])
    publishing = await publishing_progress(state.db, request["_id"])
    # Publishing rows is progress too: the request document only moves once results come in.
    updated_at = max(request["updated_at"], publishing.progressed_at) if publishing else request["updated_at"]
    return RequestStatusBody(
        request_id=request["_id"],
        status=status,
        rows=Counts(total=request["rows_total"], done=request["rows_done"], failed=request["rows_failed"]),
        images=Counts(
            total=request["images_total"],
            done=request["images_done"],
            failed=request["images_failed"],
        ),
        rows_published=publishing.rows_published if publishing else 0,
        stalled=status not in FINISHED_STATUSES
        and datetime.now(UTC) - updated_at > timedelta(seconds=state.settings.stall_seconds),
        created_at=request["created_at"],
        updated_at=updated_at,
        completed_at=request["completed_at"],
        download_url=(
            download_url(state.settings.base_url, request["_id"]) if status in FINISHED_STATUSES else None
        ),
        webhook=await _webhook_status(state, request),
    )
