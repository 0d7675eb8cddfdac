"""GET /processed_images/outputs/{retention}/{period}/{fan_out}/{name}.{jpg,webp,avif}: stream one output.

Outputs are stored under their content name (processors/content_address.py), in their period's
prefix (imgpipe/storage/output_periods.py), in the directory named by the name's first two digits. A
period's outputs are deleted together once every request that used them has expired: a missing
output of such a period answers 410 Gone. The outputs of release 8261b3e (layout 1, stored before
periods) are served still at the URLs their CSVs were given: /processed_images/images/{fan_out}/
{name}.jpg. Only names of the shapes the processors write are served, so no key can leave its
prefix and the requests' CSV files are not exposed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from gateway.api.dependencies import State
from gateway.api.errors import ApiError
from gateway.api.route_responses import (
    DEPENDENCY_UNAVAILABLE,
    EXPIRED,
    INVALID_PARAMETERS,
    Responses,
    error,
    stored_file,
)
from gateway.api.stored_objects import stream_object
from imgpipe.contract.presets import OutputFormat
from imgpipe.state.database import OUTPUT_PERIODS
from imgpipe.storage.output_periods import OUTPUTS_PREFIX, OutputPeriod
from imgpipe.storage.request_paths import CONTENT_IMAGES_PREFIX, content_image_key

router = APIRouter()

_CONTENT_NAME = re.compile(r"([0-9a-f]{64})\.jpg")
# An output of a period: the JPEG or a preset's variant, served as the type its extension names.
_PERIOD_OUTPUT_NAME = re.compile(r"([0-9a-f]{64})\.(jpg|webp|avif)")
_FORMAT_OF_EXTENSION = {output_format.extension: output_format for output_format in OutputFormat}
# The bytes under a name never change: caches may keep it for good.
_CACHE_FOREVER = {"Cache-Control": "public, max-age=31536000, immutable"}


_IMAGE_RESPONSES: Responses = {
    **stored_file("image/jpeg", "the image"),
    404: error("no image by this name"),
    410: EXPIRED,
    422: INVALID_PARAMETERS,
    503: DEPENDENCY_UNAVAILABLE,
}


def _content_name(file_name: str) -> str:
    match = _CONTENT_NAME.fullmatch(file_name)
    if match is None:
        raise ApiError(404, "not_found", "no such image")
    return match.group(1)


async def _stream_image(
    state: State, key: str, request: Request, output_format: OutputFormat = OutputFormat.JPEG
) -> Response:
    return await stream_object(
        state.storage, key, request.headers, output_format.media_type, "no such image", _CACHE_FOREVER
    )


@router.get(
    f"/processed_images/{OUTPUTS_PREFIX}/{{retention_s}}/{{period}}/{{fan_out}}/{{file_name}}",
    response_class=StreamingResponse,
    responses={
        **_IMAGE_RESPONSES,
        **stored_file(
            ", ".join(output_format.media_type for output_format in OutputFormat),
            "the image: its JPEG, or a preset's variant as its extension names",
        ),
    },
)
async def period_image(
    state: State, retention_s: int, period: int, fan_out: str, file_name: str, request: Request
) -> Response:
    match = _PERIOD_OUTPUT_NAME.fullmatch(file_name)
    if match is None or fan_out != match.group(1)[:2] or retention_s < 1 or period < 0:
        raise ApiError(404, "not_found", "no such image")
    name, output_format = match.group(1), _FORMAT_OF_EXTENSION[match.group(2)]
    output_period = OutputPeriod(retention_s, period)
    try:
        return await _stream_image(
            state, output_period.image_key(name, output_format), request, output_format
        )
    except ApiError as missing:
        if missing.status_code != 404 or not output_period.expired_by(datetime.now(UTC)):
            raise
        # Gone with its period: every request that used it had expired (imgpipe/storage/output_periods.py).
        raise _expired(output_period.expires_at) from None


@router.get(
    f"/processed_images/{CONTENT_IMAGES_PREFIX}/{{fan_out}}/{{file_name}}",
    response_class=StreamingResponse,
    responses=_IMAGE_RESPONSES,
)
async def content_image(state: State, fan_out: str, file_name: str, request: Request) -> Response:
    """An output stored before periods; once those are deleted (aggregator/output_expiry.py), 410."""
    name = _content_name(file_name)
    if fan_out != name[:2]:
        raise ApiError(404, "not_found", "no such image")
    try:
        return await _stream_image(state, content_image_key(name), request)
    except ApiError as missing:
        if missing.status_code != 404:
            raise
        record = await OUTPUT_PERIODS.of(state.db).find_one({"_id": CONTENT_IMAGES_PREFIX})
        if record is None or "deleted_at" not in record:
            raise
        raise _expired(record["deleted_at"]) from None


def _expired(expired_at: datetime) -> ApiError:
    return ApiError(
        410, "expired", "this image expired with the requests that used it", expired_at=expired_at.isoformat()
    )
