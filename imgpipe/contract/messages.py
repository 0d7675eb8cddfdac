"""The messages on imgpipe's topics: the contract between the services and with downstream consumers.

Every message is JSON with a `schema_version`; a consumer that sees a version it does not know
should stop rather than guess. The version moves only for a change that breaks a reader of the
previous one (a required field gone, a meaning changed). Adding or dropping an optional field
does not move it: models ignore fields they do not know and the schemas allow them, so old and
new messages read both ways (`RowMessage.attempt`, always 1, was dropped that way).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from imgpipe.contract.presets import OutputFormat, Preset

SCHEMA_VERSION: Literal[1] = 1

MIN_JPEG_QUALITY, MAX_JPEG_QUALITY = 1, 95
# Above 95 files grow much and look no better (Pillow's own advice).
JpegQuality = Annotated[
    int,
    Field(
        ge=MIN_JPEG_QUALITY, le=MAX_JPEG_QUALITY, description="JPEG quality of the request's output images"
    ),
]


class ErrorCode(StrEnum):
    """Why one image has no output. A closed set: consumers may switch on it."""

    INVALID_URL = "invalid_url"
    BLOCKED_DESTINATION = "blocked_destination"
    CONNECTION_FAILED = "connection_failed"
    TIMEOUT = "timeout"
    HTTP_ERROR = "http_error"
    TOO_LARGE = "too_large"
    NOT_AN_IMAGE = "not_an_image"
    IMAGE_TOO_LARGE = "image_too_large"
    PROCESSING_FAILED = "processing_failed"


class RequestStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    # Never set: a row that cannot be processed fails its images, so every request ends completed
    # or completed_with_errors. Kept because the published schema lists it and consumers (the
    # CLI's exit code 2 among them) switch on it; dropping a value would break their validation.
    FAILED = "failed"


FINISHED_STATUSES = frozenset(
    {RequestStatus.COMPLETED, RequestStatus.COMPLETED_WITH_ERRORS, RequestStatus.FAILED}
)


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: Literal[1] = SCHEMA_VERSION


class RowMessage(_Message):
    """`imgpipe.rows`, keyed `request_id:row`: one CSV row to process."""

    request_id: str
    row: int
    serial_number: str
    product_name: str
    input_urls: list[str]
    quality: JpegQuality
    # The API-key owner of the request (None: the API is open). Outputs and the source cache are
    # scoped per owner, so one owner cannot learn what another has processed.
    owner: str | None = None
    # Positions in input_urls of the URLs that may appear in other rows of the request too: the
    # processors coordinate only those across workers (imgpipe/contract/repeated_urls.py). None: not
    # known (a row published again after a restart), so every new URL is coordinated.
    urls_in_other_rows: list[int] | None = None
    # How long the request is kept once finished, in seconds: its outputs are stored by period of
    # that length (imgpipe/storage/output_periods.py). None in rows published before retention existed:
    # IMGPIPE_RETENTION_DAYS then.
    retention_s: float | None = None
    # The presets the request asked for, whole: each image gets a variant of each beside its JPEG.
    # None: none (and rows published before presets existed).
    presets: list[Preset] | None = None

    def may_be_in_other_rows(self, url: str) -> bool:
        if self.urls_in_other_rows is None:
            return True
        return any(self.input_urls[index] == url for index in self.urls_in_other_rows)


class ImageOrigin(StrEnum):
    """Where an output came from: the work done for it, or the work saved."""

    FETCHED = "fetched"  # the source sent the image
    REVALIDATED = "revalidated"  # the source answered 304 to a conditional GET: the stored output reused
    REUSED = "reused"  # the source was not asked: the URL was done earlier in the same request


class ImageError(BaseModel):
    code: ErrorCode
    message: str


class ImageVariant(BaseModel):
    """One preset's version of an output, made from the same decoded pixels as the JPEG."""

    preset: str
    format: OutputFormat
    width: int
    height: int
    bytes_out: int
    output_url: str


class ImageOutcome(BaseModel):
    """What happened to one input URL: an output URL, or an error, never both."""

    input_url: str
    output_url: str | None = None
    error: ImageError | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    width: int | None = None
    height: int | None = None
    origin: ImageOrigin | None = None  # set with the output URL
    # With the output, when the request asked for presets: one per preset, in the request's order.
    variants: list[ImageVariant] | None = None


class RowResult(_Message):
    """`imgpipe.results`, keyed `request_id`: the outcome of every image of one row, in input order."""

    request_id: str
    row: int
    images: list[ImageOutcome]
    worker_id: str
    duration_ms: float
    # Set when the row message itself could not be processed (it went to imgpipe.rows.dlq).
    error: str | None = None

    @property
    def failed_images(self) -> int:
        return sum(1 for image in self.images if image.error is not None)

    @property
    def failed(self) -> bool:
        return self.error is not None or self.failed_images > 0


@dataclass(frozen=True)
class Counters:
    """A request's finished rows and images, done and failed: the one definition of the four
    counters. The request's state versions store them (imgpipe/state/request_state.py), the
    aggregator adds them up (aggregator/tally.py) and the finished event carries them
    (RequestCounts).

    A frozen dataclass, not a model: the aggregator makes one per result it counts, and pydantic
    takes a stdlib dataclass as a message's field all the same.
    """

    rows_done: int
    rows_failed: int
    images_done: int
    images_failed: int

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            rows_done=self.rows_done + other.rows_done,
            rows_failed=self.rows_failed + other.rows_failed,
            images_done=self.images_done + other.images_done,
            images_failed=self.images_failed + other.images_failed,
        )

    @property
    def rows_finished(self) -> int:
        return self.rows_done + self.rows_failed

    def counts(self) -> dict[str, int]:
        """The four counters by name, and nothing else of a variant (a request's state)."""
        return {name: getattr(self, name) for name in COUNTER_NAMES}


COUNTER_NAMES = tuple(counter.name for counter in fields(Counters))
NO_COUNTS = Counters(rows_done=0, rows_failed=0, images_done=0, images_failed=0)


@dataclass(frozen=True)
class RequestCounts(Counters):
    rows_total: int
    images_total: int


class RequestEvent(_Message):
    """`imgpipe.events`, keyed `request_id`: a request finished."""

    # Always request.completed; request.failed is reserved, like RequestStatus.FAILED.
    type: Literal["request.completed", "request.failed"]
    request_id: str
    status: RequestStatus
    counts: RequestCounts
    quality: JpegQuality
    download_url: str
    created_at: datetime
    completed_at: datetime
    # When the request and its outputs are deleted (its URLs then answer 410). Optional: events
    # published before retention existed have none.
    expires_at: datetime | None = None
    # The names of the presets the request asked for (the output CSV has a column for each).
    # Optional: None when it asked for none, and in events published before presets existed.
    presets: list[str] | None = None


DeadLetterReason = Literal["undecodable", "processing_error"]


class DeadLetter(_Message):
    """`imgpipe.rows.dlq`, keyed as the original: a row message that could not be processed.

    `value_base64` is the original message value, byte for byte, so an operator can inspect or
    replay it.
    """

    source_topic: str
    partition: int
    offset: int
    key: str | None
    value_base64: str
    reason: DeadLetterReason
    error: str
    worker_id: str
    at: datetime
