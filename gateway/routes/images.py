"""GET /processed_images/images/{fan_out}/{name}.jpg: stream one compressed image from storage.

Outputs are stored under their content name (processors/content_address.py), in the directory
named by its first two digits (imgpipe/request_paths.py). Earlier layouts are served still at
the URLs they were given: /processed_images/images/{name}.jpg (content names before the fan-out)
and /processed_images/{request_id}/{file_name} (images of requests processed before content
addressing). Only names of the shapes the processors write are served, so no key can leave its
prefix and the requests' CSV files are not exposed.
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from gateway.dependencies import State
from gateway.errors import ApiError
from gateway.route_responses import (
    DEPENDENCY_UNAVAILABLE,
    INVALID_PARAMETERS,
    Responses,
    error,
    stored_file,
)
from gateway.stored_objects import stream_object
from imgpipe.request_paths import CONTENT_IMAGES_PREFIX, content_image_key, flat_content_image_key, image_key

router = APIRouter()

_IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}\.jpg")
_CONTENT_NAME = re.compile(r"([0-9a-f]{64})\.jpg")
# The bytes under a name never change: caches may keep it for good.
_CACHE_FOREVER = {"Cache-Control": "public, max-age=31536000, immutable"}


_IMAGE_RESPONSES: Responses = {
    **stored_file("image/jpeg", "the image"),
    404: error("no image by this name"),
    422: INVALID_PARAMETERS,
    503: DEPENDENCY_UNAVAILABLE,
}


def _content_name(file_name: str) -> str:
    match = _CONTENT_NAME.fullmatch(file_name)
    if match is None:
        raise ApiError(404, "not_found", "no such image")
    return match.group(1)


async def _stream_image(state: State, key: str, request: Request) -> Response:
    return await stream_object(
        state.storage, key, request.headers, "image/jpeg", "no such image", _CACHE_FOREVER
    )


@router.get(
    f"/processed_images/{CONTENT_IMAGES_PREFIX}/{{fan_out}}/{{file_name}}",
    response_class=StreamingResponse,
    responses=_IMAGE_RESPONSES,
)
async def content_image(state: State, fan_out: str, file_name: str, request: Request) -> Response:
    name = _content_name(file_name)
    if fan_out != name[:2]:
        raise ApiError(404, "not_found", "no such image")
    return await _stream_image(state, content_image_key(name), request)


# Declared before the request-scoped route, whose `{request_id}` would otherwise take "images".
@router.get(
    f"/processed_images/{CONTENT_IMAGES_PREFIX}/{{file_name}}",
    response_class=StreamingResponse,
    responses=_IMAGE_RESPONSES,
)
async def flat_content_image(state: State, file_name: str, request: Request) -> Response:
    return await _stream_image(state, flat_content_image_key(_content_name(file_name)), request)


@router.get(
    "/processed_images/{request_id}/{file_name}", response_class=StreamingResponse, responses=_IMAGE_RESPONSES
)
async def processed_image(state: State, request_id: uuid.UUID, file_name: str, request: Request) -> Response:
    if not _IMAGE_NAME.fullmatch(file_name):
        raise ApiError(404, "not_found", "no such image")
    return await _stream_image(state, image_key(str(request_id), file_name), request)
