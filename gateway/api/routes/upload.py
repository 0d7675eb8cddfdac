"""POST /upload: validate the whole CSV, record the request, then publish its rows."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from gateway.api.auth import Owner
from gateway.api.dependencies import GatewayState, State
from gateway.api.errors import ApiError
from gateway.api.metrics import counted_upload
from gateway.api.preset_choice import chosen_presets, refuse_parameters_beside_presets
from gateway.api.readiness import kafka_state, storage_state
from gateway.api.route_responses import DEPENDENCY_UNAVAILABLE, INVALID_PARAMETERS, UNAUTHORIZED, error
from gateway.api.schemas import CsvRejectedBody, ErrorBody, QuotaExceededBody, UploadAccepted
from gateway.api.upload_quotas import admit_upload, refuse_before_reading
from gateway.intake.csv_intake import CsvRejected, CsvTooLarge, IntakeLimits, validate_csv
from gateway.intake.request_store import insert_request
from imgpipe.contract.messages import MAX_JPEG_QUALITY, MIN_JPEG_QUALITY, RequestStatus
from imgpipe.contract.request_presets import outputs_per_image
from imgpipe.runtime.retrying import UNAVAILABLE
from imgpipe.state.retention import DAY_S
from imgpipe.storage.input_spool import delete_input_spool, store_input_spool
from imgpipe.storage.request_paths import INPUT_SPOOL_NAME, download_url, status_url

router = APIRouter()

_WHOLE_NUMBER = re.compile(r"[0-9]{1,3}")
# An absolute http(s) URL: scheme, optional user info, a host name or a bracketed IPv6 address,
# optional port, then a path, query or fragment; no spaces or control characters anywhere.
# Checked here and published in the OpenAPI document, so both say the same. (A bracketed host
# must also be a valid IPv6 address, which urlsplit checks and the pattern only approximates.)
_WEBHOOK_URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://([^\x00-\x20\x7f/?#@]*@)?"
    r"([^\x00-\x20\x7f/?#@:\[\]]+|\[[0-9A-Fa-f:.]+\])(:[0-9]*)?([/?#][^\x00-\x20\x7f]*)?$"
)
_WEBHOOK_URL = re.compile(_WEBHOOK_URL_PATTERN)
_RETRY_AFTER = {
    "description": "whole seconds after which the upload may be accepted",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


def _form_field(json_schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """The OpenAPI schema of an optional form field, as sent when it is. Pydantic writes
    `anyOf: [string, null]`, but a form cannot carry a JSON null (a client would send "null")."""

    def replace_schema(generated: dict[str, Any]) -> None:
        generated.pop("anyOf", None)
        generated.update(json_schema)

    return replace_schema


def _jpeg_quality(quality: str | None, default: int) -> int:
    """The upload's `quality` field as a number, or the setting when it is absent."""
    if quality is None:
        return default
    # A form field is text: parsed here, so that "abc" gets the same 400 as 200 does. ASCII digits
    # only, and few: int() also takes "٣" and fails on 5,000 digits.
    text = quality.strip()
    if not _WHOLE_NUMBER.fullmatch(text) or not MIN_JPEG_QUALITY <= int(text) <= MAX_JPEG_QUALITY:
        raise ApiError(
            400,
            "invalid_quality",
            f"quality must be a whole number from {MIN_JPEG_QUALITY} to {MAX_JPEG_QUALITY}, "
            f"not {quality[:40]!r}",  # the field's start is enough to recognise it
        )
    return int(text)


def _check_webhook_url(webhook_url: str | None) -> None:
    if webhook_url is None:
        return
    try:
        # The pattern is the rule; urlsplit also refuses a bracketed host that is no IPv6 address.
        valid = _WEBHOOK_URL.fullmatch(webhook_url) is not None and bool(urlsplit(webhook_url).hostname)
    except ValueError:
        valid = False
    if not valid:
        raise ApiError(400, "invalid_webhook_url", "webhook_url must be an absolute http(s) URL")


@router.post(
    "/upload",
    status_code=202,
    responses={
        400: error(
            "the CSV was rejected (`problems` lists what is wrong, by line); or `quality` or"
            " `webhook_url` is invalid; or a preset is unknown (`unknown_preset`, `known` lists the"
            " configured ones); or `quality` was sent where only presets are allowed (`only_presets`);"
            " or the body is not a readable form",
            CsvRejectedBody | ErrorBody,
        ),
        401: UNAUTHORIZED,
        413: error(
            "the upload is larger than IMGPIPE_MAX_UPLOAD_BYTES, or the CSV has more rows than"
            " IMGPIPE_MAX_ROWS or more URLs in a row than IMGPIPE_MAX_URLS_PER_ROW"
        ),
        422: INVALID_PARAMETERS,
        429: {
            **error(
                "a limit of the key was crossed: unfinished requests or rows, rows per upload, or uploads"
                " per minute (`limit`, its `value` and the key's `usage`)",
                QuotaExceededBody,
            ),
            "headers": {"Retry-After": _RETRY_AFTER},
        },
        503: DEPENDENCY_UNAVAILABLE,
    },
)
async def upload(
    state: State,
    owner: Owner,
    file: Annotated[
        UploadFile,
        # An empty file is refused with 400 like any CSV without a header row.
        File(description="The product CSV", json_schema_extra={"minLength": 1}),
    ],
    webhook_url: Annotated[
        str | None,
        Form(
            description="Where the completion event is POSTed, signed: an absolute http(s) URL",
            json_schema_extra=_form_field({"type": "string", "pattern": _WEBHOOK_URL_PATTERN}),
        ),
    ] = None,
    quality: Annotated[
        str | None,
        Form(
            description="JPEG quality of this request's outputs, 1 to 95; default IMGPIPE_JPEG_QUALITY",
            # Text like every form field, parsed by _jpeg_quality: published as the number it must be.
            json_schema_extra=_form_field(
                {"type": "integer", "minimum": MIN_JPEG_QUALITY, "maximum": MAX_JPEG_QUALITY}
            ),
        ),
    ] = None,
    presets: Annotated[
        list[str] | None,
        Form(
            description="Named presets (IMGPIPE_PRESETS; `GET /presets` lists them) whose variant of every"
            " image is made beside its JPEG: names separated by commas, or the field repeated",
        ),
    ] = None,
) -> UploadAccepted:
    with counted_upload():
        return await _accept_upload(state, owner, file, webhook_url, quality, presets or [])


async def _accept_upload(
    state: GatewayState,
    owner: str | None,
    file: UploadFile,
    webhook_url: str | None,
    quality: str | None,
    preset_fields: list[str],
) -> UploadAccepted:
    _check_webhook_url(webhook_url)
    if state.images.only_presets:
        refuse_parameters_beside_presets(quality)
    jpeg_quality = _jpeg_quality(quality, state.images.jpeg_quality)
    presets = chosen_presets(preset_fields, state.images.presets)
    # The key's limits that need no file: a refused upload costs no read and asks no dependency.
    refuse_before_reading(state, owner)
    # Refuse before reading the file: accepting an upload whose rows cannot be published soon
    # would only park the work. (A broker lost after this point is waited out by the publisher.)
    if await kafka_state(state.producer) != "ok":
        raise ApiError(503, "dependency_unavailable", "the message broker is unavailable; retry shortly")
    if await storage_state(state.storage) != "ok":
        raise ApiError(503, "dependency_unavailable", "the storage is unavailable; retry shortly")
    request_id = str(uuid.uuid4())
    # Spooled to a local file while validating, then put into storage whole: a rejected CSV
    # leaves nothing behind.
    with tempfile.TemporaryDirectory(dir=state.storage.staging_dir, prefix=".upload-") as staging:
        spool = Path(staging) / INPUT_SPOOL_NAME
        try:
            # Parsing a large CSV is CPU work: keep it off the event loop.
            limits = IntakeLimits(state.limits.max_rows, state.limits.max_urls_per_row)
            summary = await run_in_threadpool(validate_csv, file.file, spool, limits)
        except CsvTooLarge as too_large:
            raise ApiError(413, too_large.code, too_large.message) from None
        except CsvRejected as rejected:
            raise ApiError(
                400,
                "csv_rejected",
                f"the CSV was rejected: {len(rejected.problems)} problem(s) found",
                problems=[asdict(problem) for problem in rejected.problems],
            ) from None
        # The limits that need the rows, then the rate slot: the last check before anything is stored.
        await admit_upload(state, owner, request_id, summary.rows * outputs_per_image(presets))
        try:
            await store_input_spool(state.storage, request_id, spool)
        except BaseException:
            state.unfinished.withdrawn(request_id)
            raise
    try:
        retention_s = state.api_keys.policy_of(owner).retention_days * DAY_S
        await insert_request(
            state.db,
            request_id,
            summary.rows,
            summary.images,
            webhook_url,
            owner,
            jpeg_quality,
            presets,
            retention_s,
        )
    except UNAVAILABLE:
        state.unfinished.withdrawn(request_id)
        await delete_input_spool(state.storage, request_id)
        raise
    state.publisher.start(request_id, summary.repeated_urls)
    return UploadAccepted(
        request_id=request_id,
        status=RequestStatus.QUEUED,
        status_url=status_url(state.base_url, request_id),
        download_url=download_url(state.base_url, request_id),
    )
