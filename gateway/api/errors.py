"""Error responses: always JSON of one shape, never a stack trace."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from imgpipe.contract.errors import CodedError
from imgpipe.runtime.retrying import UNAVAILABLE

logger = logging.getLogger(__name__)


class ApiError(CodedError[str], StarletteHTTPException):
    """An expected failure, answered as `{"error": code, "message": message, **details}`.

    Also an HTTPException, so that one raised while FastAPI parses the body (the upload size
    limit) reaches the error handlers as itself instead of becoming a generic 400.
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        **details: Any,
    ) -> None:
        CodedError.__init__(self, code, message)
        StarletteHTTPException.__init__(self, status_code, message, headers)
        self.details = details

    def response(self) -> JSONResponse:
        return error_response(self.status_code, self.code, self.message, self.headers, **self.details)


# The codes of the errors Starlette and FastAPI raise themselves.
_HTTP_ERRORS = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
}


def error_response(
    status_code: int,
    error: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **details: Any,
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "message": message, **details}, status_code=status_code, headers=headers
    )


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error = _HTTP_ERRORS.get(exc.status_code, "http_error")
    return error_response(exc.status_code, error, str(exc.detail), headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"location": ".".join(str(part) for part in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return error_response(422, "invalid_request", "the request is not valid", problems=problems)


async def _dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("%s %s: dependency unavailable: %r", request.method, request.url.path, exc)
    return error_response(
        503,
        "dependency_unavailable",
        "the database, the message broker or the storage is unavailable; retry shortly",
        headers={"Retry-After": "5"},
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex
    logger.error("unexpected error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "unexpected error", error_id=error_id)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, _dependency_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
