"""GET /status/{id} and GET /download/{id}: a request's progress and its output CSV."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway.auth import Owner
from gateway.dependencies import State
from gateway.errors import ApiError
from gateway.schemas import ErrorBody, RequestStatusBody
from gateway.status_view import DEFAULT_PAGE_ROWS, check_page, request_or_404, row_details, status_body
from gateway.stored_objects import stream_object
from imgpipe.request_paths import output_csv_key
from imgpipe.request_state import request_state

router = APIRouter()

_NOT_FOUND: dict[int | str, dict[str, Any]] = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}}


@router.get("/status/{request_id}", responses={**_NOT_FOUND, 400: {"model": ErrorBody}})
async def request_status(
    state: State,
    owner: Owner,
    request_id: uuid.UUID,
    rows: Annotated[bool, Query(description="Include one page of row details")] = False,
    offset: Annotated[int, Query(description="First row of the page (0-based)")] = 0,
    limit: Annotated[int, Query(description="Rows per page, 1 to 5,000")] = DEFAULT_PAGE_ROWS,
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
    responses={**_NOT_FOUND, 409: {"model": ErrorBody}, 200: {"content": {"text/csv": {}}}},
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
