"""What the routes declare they may answer besides success, for the OpenAPI document.

Every status a route can answer is listed with its body, so a client generated from the document
handles all of them. A route builds its `responses=` from these entries; the error handlers
(gateway/api/errors.py) make the bodies.
"""

from __future__ import annotations

from typing import Any

from gateway.api.schemas import ErrorBody, ExpiredBody, InternalErrorBody, InvalidRequestBody

Responses = dict[int | str, dict[str, Any]]


def error(description: str, model: Any = ErrorBody) -> dict[str, Any]:
    return {"description": description, "model": model}


def content(media_type: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An answer of `media_type`; several, separated by commas, for a file that may be of either."""
    return {
        "description": description,
        "content": {single.strip(): {"schema": schema or {}} for single in media_type.split(",")},
    }


UNAUTHORIZED = error("API keys are configured, and the request carries no valid one")
# FastAPI's own 422 body would be `{"detail": [...]}`; gateway/api/errors.py answers with this one.
INVALID_PARAMETERS = error("a parameter has the wrong type or shape", InvalidRequestBody)
DEPENDENCY_UNAVAILABLE = error(
    "the database, the message broker or the storage is unavailable; retry after `Retry-After` seconds"
)
# A request (or image) whose retention is over, until its tombstone is forgotten (then 404).
EXPIRED = error("the retention is over: deleted, with everything only it used (`expired`)", ExpiredBody)
# Any route, should a bug surface: the body names the logged stack trace.
INTERNAL_ERROR = error("unexpected error", InternalErrorBody)

_BINARY = {"type": "string", "format": "binary"}


def stored_file(media_type: str, what: str) -> Responses:
    """The answers of a file streamed from storage (gateway/api/stored_objects.py): whole, a range of
    it, not modified, or a range beyond its end."""
    return {
        200: content(media_type, what, _BINARY),
        206: content(media_type, f"the requested byte range of {what}", _BINARY),
        304: {"description": "If-None-Match names the current ETag: the client's copy is current"},
        416: error("the Range lies outside the file; Content-Range gives its size"),
    }
