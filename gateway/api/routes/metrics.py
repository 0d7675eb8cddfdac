"""GET /metrics: Prometheus text format. Open even when API keys are set, like /healthz."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.dependencies import State
from gateway.api.metrics import REQUESTS_UNFINISHED
from gateway.api.owner_metrics import owner_rows_exposition
from gateway.api.route_responses import DEPENDENCY_UNAVAILABLE, content
from gateway.intake.request_store import count_unfinished_requests

router = APIRouter()


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: content("text/plain", "Prometheus text format", {"type": "string"}),
        503: DEPENDENCY_UNAVAILABLE,
    },
)
async def metrics(state: State) -> Response:
    REQUESTS_UNFINISHED.set(await count_unfinished_requests(state.db))
    exposition = generate_latest() + owner_rows_exposition(state.unfinished.progress.by_owner())
    return Response(exposition, media_type=CONTENT_TYPE_LATEST)
