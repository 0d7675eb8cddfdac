"""GET /status/{id}/events: the request's status as Server-Sent Events, until it finishes.

Every event is a whole status (the body of GET /status/{id}), sent when anything in it changes;
the stream ends after the event with a finished status. The database is polled: neither MongoDB
nor FerretDB offers change streams to both, and a poll every quarter second per watcher is cheap.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from gateway.api.auth import Owner
from gateway.api.dependencies import GatewayState, State
from gateway.api.route_responses import (
    DEPENDENCY_UNAVAILABLE,
    EXPIRED,
    INVALID_PARAMETERS,
    UNAUTHORIZED,
    Responses,
    content,
    error,
)
from gateway.api.status_view import request_or_404, status_body
from gateway.intake.request_store import find_request
from imgpipe.contract.messages import FINISHED_STATUSES

router = APIRouter()

POLL_INTERVAL_S = 0.25
# A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15.0


def status_event(data: str) -> bytes:
    return f"event: status\ndata: {data}\n\n".encode()


async def _status_events(state: GatewayState, owner: str | None, request_id: str) -> AsyncIterator[bytes]:
    last_sent: str | None = None
    quiet_s = 0.0
    while True:
        request = await find_request(state.db, request_id, owner)
        if request is None:  # deleted while watched
            return
        body = await status_body(state, request)
        # Compared without the timestamps, which move on every poll while publishing.
        fingerprint = body.model_dump_json(exclude={"updated_at", "stalled"})
        if fingerprint != last_sent:
            last_sent, quiet_s = fingerprint, 0.0
            yield status_event(body.model_dump_json())
        elif quiet_s >= KEEPALIVE_S:
            quiet_s = 0.0
            yield b": keep-alive\n\n"
        if body.status in FINISHED_STATUSES:
            return
        await asyncio.sleep(POLL_INTERVAL_S)
        quiet_s += POLL_INTERVAL_S


_RESPONSES: Responses = {
    200: content("text/event-stream", "`status` events, each a whole status, until it is a finished one"),
    401: UNAUTHORIZED,
    404: error("no request with this id (for this API key)"),
    410: EXPIRED,
    422: INVALID_PARAMETERS,
    503: DEPENDENCY_UNAVAILABLE,
}


@router.get("/status/{request_id}/events", response_class=StreamingResponse, responses=_RESPONSES)
async def request_progress_events(state: State, owner: Owner, request_id: uuid.UUID) -> StreamingResponse:
    request = await request_or_404(state, owner, request_id)  # 404 now, not inside the stream
    return StreamingResponse(
        _status_events(state, owner, request["_id"]),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
