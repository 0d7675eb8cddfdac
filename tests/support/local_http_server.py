"""A test-owned HTTP server on a loopback port: serves images and failures, receives webhooks.

It counts what it is asked, conditional GETs apart, and answers them as a static file server
does: a resource with validators gets `304` when the request's `If-None-Match` (or, without one,
`If-Modified-Since`) matches them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

GATE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    delay_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    # "actual": the real length; an int: a lie; None: no header, the body ends when the connection closes
    content_length: int | Literal["actual"] | None = "actual"
    # When set, the answer waits until the test sets this event (at most GATE_TIMEOUT_S).
    gate: threading.Event | None = None
    # Validators sent with the resource and compared with a conditional GET's.
    etag: str | None = None
    last_modified: str | None = None
    # A server that sends validators but answers every GET in full, conditional or not.
    ignores_conditionals: bool = False

    def not_modified_for(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        if self.ignores_conditionals:
            return False
        if if_none_match is not None:
            return self.etag is not None and self.etag in [tag.strip() for tag in if_none_match.split(",")]
        return if_modified_since is not None and if_modified_since == self.last_modified


@dataclass(frozen=True)
class ReceivedPost:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalHttpServer:
    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # The paths of the GETs among `requests` that carried If-None-Match or If-Modified-Since.
    conditional_requests: list[str] = field(default_factory=list)
    posts: list[ReceivedPost] = field(default_factory=list)
    # Status codes to answer successive POSTs to a path with; 200 once the list is used up.
    post_statuses: dict[str, list[int]] = field(default_factory=dict)
    # 0: any free port; a fixed one only where recorded URLs name it (tests/fixtures/layout_v1)
    bind_port: int = 0

    def __post_init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.bind_port), self._handler_class())
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if_none_match = self.headers.get("If-None-Match")
                if_modified_since = self.headers.get("If-Modified-Since")
                if if_none_match is not None or if_modified_since is not None:
                    server.conditional_requests.append(self.path)
                resource = server.resources.get(self.path, Resource(b"not found", "text/plain", 404))
                time.sleep(resource.delay_s)
                if resource.gate is not None:
                    resource.gate.wait(GATE_TIMEOUT_S)
                if resource.not_modified_for(if_none_match, if_modified_since):
                    self.send_response(304)
                    self._send_validators(resource)
                    for name, value in resource.headers:
                        self.send_header(name, value)
                    self.end_headers()
                    return
                self.send_response(resource.status)
                self.send_header("Content-Type", resource.content_type)
                self._send_validators(resource)
                for name, value in resource.headers:
                    self.send_header(name, value)
                if resource.content_length == "actual":
                    self.send_header("Content-Length", str(len(resource.body)))
                elif resource.content_length is not None:
                    self.send_header("Content-Length", str(resource.content_length))
                self.end_headers()
                # The client may stop reading, as it should for an oversized body.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(resource.body)

            def _send_validators(self, resource: Resource) -> None:
                if resource.etag is not None:
                    self.send_header("ETag", resource.etag)
                if resource.last_modified is not None:
                    self.send_header("Last-Modified", resource.last_modified)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                server.posts.append(ReceivedPost(self.path, dict(self.headers.items()), body))
                statuses = server.post_statuses.get(self.path, [])
                self.send_response(statuses.pop(0) if statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, resource: Resource) -> str:
        self.resources[path] = resource
        return self.url(path)

    @contextmanager
    def running(self) -> Iterator[LocalHttpServer]:
        thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()
