"""GET /processed_images/{request_id}/{file_name}: serve one compressed image, nothing else.

Only names of the shape the processors write are served, so no path can leave the request's
directory and the request's CSV files are not exposed.
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gateway.dependencies import State
from gateway.errors import ApiError
from imgpipe.request_paths import request_dir

router = APIRouter()

_IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}\.jpg")


@router.get("/processed_images/{request_id}/{file_name}", response_class=FileResponse)
async def processed_image(state: State, request_id: uuid.UUID, file_name: str) -> FileResponse:
    path = request_dir(state.settings.processed_images_dir, str(request_id)) / file_name
    if not _IMAGE_NAME.fullmatch(file_name) or not path.is_file():
        raise ApiError(404, "not_found", "no such image")
    return FileResponse(path, media_type="image/jpeg")
