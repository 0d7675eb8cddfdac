"""The gateway's response bodies: the REST contract clients rely on."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from imgpipe.contract.messages import ImageOutcome, RequestStatus
from imgpipe.contract.presets import Preset
from imgpipe.state.row_outcomes import RowState
from imgpipe.state.webhook_deliveries import DeliveryStatus, WebhookDelivery


class ErrorBody(BaseModel):
    """Every error response has this shape: a stable code, a sentence, optional details."""

    error: str
    message: str


class CsvProblemBody(BaseModel):
    line: int | None
    column: str | None
    message: str


class CsvRejectedBody(ErrorBody):
    problems: list[CsvProblemBody]


class QuotaExceededBody(ErrorBody):
    """429 of POST /upload: the key's limit that was crossed, its value and the key's usage of it
    (for `max_rows_per_upload`, the CSV's rows)."""

    limit: Literal[
        "max_unfinished_requests", "max_unfinished_rows", "max_rows_per_upload", "max_uploads_per_minute"
    ]
    value: int
    usage: int


class InvalidParameter(BaseModel):
    location: str  # e.g. "path.request_id", "body.file"
    message: str


class ExpiredBody(ErrorBody):
    """410: the request's retention is over; it and what only it stored are deleted."""

    expired_at: datetime


class InvalidRequestBody(ErrorBody):
    """422: a parameter does not have the type or shape the OpenAPI document states."""

    problems: list[InvalidParameter]


class NotFinishedBody(ErrorBody):
    """409 of GET /download/{id}: the request's status, which is not a finished one yet."""

    status: RequestStatus


class InternalErrorBody(ErrorBody):
    """500: the `error_id` names the logged stack trace."""

    error_id: str


class ReadinessBody(BaseModel):
    status: Literal["ready", "unavailable"]
    dependencies: dict[str, str]  # kafka, mongodb, storage: "ok" or why not


class UploadAccepted(BaseModel):
    request_id: str
    status: RequestStatus
    status_url: str
    download_url: str


class Counts(BaseModel):
    total: int
    done: int
    failed: int


class RowStatus(BaseModel):
    row: int
    serial_number: str
    product_name: str
    status: RowState
    # Each input URL's outcome as the processors published it on imgpipe.results (only the input
    # URL while the row is pending): sizes, pixels and origin are known once it is compressed.
    images: list[ImageOutcome]


class RowPage(BaseModel):
    """Which rows `row_details` holds: `limit` rows from `offset`, of `total`; `next_url` is the
    next page's URL, None on the last page."""

    offset: int
    limit: int
    total: int
    next_url: str | None


class QueueStatus(BaseModel):
    """Where an unfinished request stands, as the gateway's last walk of the unfinished requests
    saw it (at most about a second ago)."""

    # Rows of the other unfinished requests published and not yet finished: the processors share
    # their time between those and this request's own.
    rows_ahead: int
    # This request's rows accepted and not yet published.
    rows_waiting: int
    # Its rows left at the pace it finished rows over the last 10 s; None until it has one.
    estimated_finish_at: datetime | None


class WebhookStatus(BaseModel):
    """The request's webhook URL and its deliveries as the aggregator stored them."""

    url: str
    status: DeliveryStatus
    deliveries: list[WebhookDelivery]


class RequestStatusBody(BaseModel):
    request_id: str
    status: RequestStatus
    rows: Counts
    images: Counts
    rows_published: int
    # JPEG quality of the request's outputs: the upload's `quality`, or IMGPIPE_JPEG_QUALITY.
    quality: int
    # The presets it asked for, as defined when it was accepted: a variant of every image each.
    presets: list[Preset] = []
    # Unfinished and nothing has moved (no row published, no result recorded) for IMGPIPE_STALL_SECONDS.
    stalled: bool
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    # Once finished: when the request and what it stored are deleted (then its URLs answer 410).
    expires_at: datetime | None = None
    download_url: str | None
    webhook: WebhookStatus | None
    # With ?rows=true: one page of rows, in input order, and where it sits.
    row_details: list[RowStatus] | None = None
    row_page: RowPage | None = None
    # While unfinished; None once finished, and until the gateway's walk has seen a new request.
    queue: QueueStatus | None = None
