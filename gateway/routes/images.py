"""GET /processed_images/{request_id}/{file_name}: stream one compressed image from storage.

Only names of the shape the processors write are served, so no key can leave the request's
prefix and the request's CSV files are not exposed.
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from gateway.dependencies import State
from gateway.errors import ApiError
from gateway.stored_objects import stream_object
from imgpipe.request_paths import image_key

router = APIRouter()

_IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}\.jpg")
# The name is random and the bytes under it never change: caches may keep it for good.
_CACHE_FOREVER = {"Cache-Control": "public, max-age=31536000, immutable"}


@router.get("/processed_images/{request_id}/{file_name}", response_class=StreamingResponse)
async def processed_image(state: State, request_id: uuid.UUID, file_name: str, request: Request) -> Response:
    if not _IMAGE_NAME.fullmatch(file_name):
        raise ApiError(404, "not_found", "no such image")
    key = image_key(str(request_id), file_name)
    return await stream_object(
        state.storage, key, request.headers, "image/jpeg", "no such image", _CACHE_FOREVER
    )
