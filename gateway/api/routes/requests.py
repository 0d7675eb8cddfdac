"""GET /status/{id} and GET /download/{id}: a request's progress and its output CSV."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway.api.auth import Owner
from gateway.api.dependencies import State
from gateway.api.errors import ApiError
from gateway.api.route_responses import (
    DEPENDENCY_UNAVAILABLE,
    EXPIRED,
    INVALID_PARAMETERS,
    UNAUTHORIZED,
    Responses,
    error,
    stored_file,
)
from gateway.api.schemas import NotFinishedBody, RequestStatusBody
from gateway.api.status_view import (
    DEFAULT_PAGE_ROWS,
    MAX_PAGE_ROWS,
    check_page,
    request_or_404,
    row_details,
    status_body,
)
from gateway.api.stored_objects import stream_object
from imgpipe.state.request_state import request_state
from imgpipe.storage.request_paths import output_csv_key

router = APIRouter()

# Every route about one request: it may not exist, or belong to another API key.
_ONE_REQUEST: Responses = {
    401: UNAUTHORIZED,
    404: error("no request with this id (for this API key)"),
    410: EXPIRED,
    422: INVALID_PARAMETERS,
    503: DEPENDENCY_UNAVAILABLE,
}


@router.get(
    "/status/{request_id}",
    responses={**_ONE_REQUEST, 400: error("`offset` or `limit` is out of range (`invalid_page`)")},
)
async def request_status(
    state: State,
    owner: Owner,
    request_id: uuid.UUID,
    rows: Annotated[bool, Query(description="Include one page of row details")] = False,
    # Bounds published, not enforced by FastAPI: check_page answers them with its own 400.
    offset: Annotated[
        int, Query(description="First row of the page (0-based)", json_schema_extra={"minimum": 0})
    ] = 0,
    limit: Annotated[
        int,
        Query(
            description=f"Rows per page, 1 to {MAX_PAGE_ROWS:,}",
            json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_ROWS},
        ),
    ] = DEFAULT_PAGE_ROWS,
) -> RequestStatusBody:
    check_page(offset, limit)
    request = await request_or_404(state, owner, request_id)
    body = await status_body(state, request)
    if rows:
        body.row_details, body.row_page = await row_details(state, request, offset, limit)
    return body


@router.get(
    "/download/{request_id}",
    response_class=StreamingResponse,
    responses={
        **_ONE_REQUEST,
        **stored_file("text/csv", "the output CSV"),
        409: error("the request has not finished: `status` says where it is", NotFinishedBody),
    },
)
async def download(state: State, owner: Owner, request_id: uuid.UUID, http_request: Request) -> Response:
    request = await request_or_404(state, owner, request_id)
    progress = await request_state(state.db, request)
    if not progress.finished:
        raise ApiError(
            409,
            "not_finished",
            f"request {request_id} is {progress.status}; the CSV is ready once it finishes",
            status=progress.status,
        )
    return await stream_object(
        state.storage,
        output_csv_key(request["_id"]),
        http_request.headers,
        "text/csv; charset=utf-8",
        f"the output CSV of request {request_id} is missing from storage",
        {"Content-Disposition": f'attachment; filename="imgpipe-{request_id}.csv"'},
    )
