"""Refuse an upload body larger than IMGPIPE_MAX_UPLOAD_BYTES while it streams in.

A declared Content-Length over the limit is refused before any byte is read; a body without one
(or with a lying one) is counted as it arrives and refused the moment it crosses the limit, so
a client cannot make the gateway spool more than the limit to disk.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.errors import ApiError


def upload_too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "upload_too_large", f"the upload is larger than {max_bytes} bytes")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class UploadSizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, path: str = "/upload") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await upload_too_large(self.max_bytes).response()(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the form parser; the app's error handlers answer 413 JSON.
                    raise upload_too_large(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)
