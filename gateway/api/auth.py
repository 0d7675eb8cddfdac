"""When IMGPIPE_API_KEYS is set, every call names its key and sees only its own requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.api.dependencies import State
from gateway.api.errors import ApiError


def _presented_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key")


def current_owner(state: State, request: Request) -> str | None:
    """The owner id of the caller's key; None when the API is open (no keys configured)."""
    if not state.api_keys.enabled:
        return None
    owner = state.api_keys.owner_of(_presented_key(request))
    if owner is None:
        raise ApiError(
            401,
            "unauthorized",
            "a valid API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
        )
    return owner


Owner = Annotated[str | None, Depends(current_owner)]
