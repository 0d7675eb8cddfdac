"""Refuse a request whose head (request line and header fields) exceeds IMGPIPE_MAX_HEADER_BYTES.

uvicorn's httptools parser puts no limit on the head: one 8 MB header is read, held and handed
to the app. This protocol counts the head's bytes as they arrive and answers `431` (JSON, the
shape of gateway/api/errors.py) once the head would cross the limit, without reading the rest, so
no client can make the gateway hold more than the limit per connection. The check is exact: a
read that crosses the limit is fed in two parts, and the head is refused only if it does not
end within the limit.
"""

from __future__ import annotations

import http
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.api.errors import error_response

logger = logging.getLogger(__name__)


class HeaderLimitedProtocol(HttpToolsProtocol):
    max_header_bytes: int  # set by header_limited_protocol()

    # Per connection: a head is being read from its start (a new connection, or the end of the
    # previous message) until its header fields are complete. The bytes of a pipelined request
    # that share a read with the previous request's end are not counted: the limit is then
    # exceeded by at most one read (256 KiB), never without bound.
    _reading_header = True
    _header_bytes = 0

    def data_received(self, data: bytes) -> None:
        if not self._reading_header:
            super().data_received(data)
            return
        allowance = self.max_header_bytes - self._header_bytes
        if len(data) <= allowance:
            self._header_bytes += len(data)
            super().data_received(data)
            return
        super().data_received(data[:allowance])
        if self.transport.is_closing():  # the parser refused the request already (400)
            return
        if self._reading_header:
            self._refuse_header()
            return
        super().data_received(data[allowance:])

    def on_headers_complete(self) -> None:
        self._reading_header = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_header = True
        self._header_bytes = 0

    def _refuse_header(self) -> None:
        logger.warning("refused a request whose header is larger than %d bytes", self.max_header_bytes)
        body = error_response(
            431, "header_too_large", f"the request's header is larger than {self.max_header_bytes} bytes"
        ).body
        status = http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        head = [f"HTTP/1.1 {status.value} {status.phrase}".encode()]
        head += [name + b": " + value for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


def header_limited_protocol(max_header_bytes: int) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn (`http=`), refusing heads over `max_header_bytes`."""

    class Limited(HeaderLimitedProtocol):
        pass

    Limited.max_header_bytes = max_header_bytes
    return Limited
