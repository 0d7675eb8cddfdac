"""GET /healthz: the gateway process serves. GET /readyz: and its dependencies answer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.api.dependencies import State
from gateway.api.readiness import dependency_states
from gateway.api.schemas import ReadinessBody

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadinessBody,
    responses={503: {"description": "a dependency is down", "model": ReadinessBody}},
)
async def readyz(state: State) -> JSONResponse:
    dependencies = await dependency_states(state.db, state.producer, state.storage)
    ready = all(value == "ok" for value in dependencies.values())
    body = {"status": "ready" if ready else "unavailable", "dependencies": dependencies}
    return JSONResponse(body, status_code=200 if ready else 503)
