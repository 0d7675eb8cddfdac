"""A test-owned HTTP server that serves images (and failures) on a loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    delay_s: float = 0.0


class ImageServer:
    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                resource = server.resources.get(self.path)
                if resource is None:
                    resource = Resource(b"not found", "text/plain", 404)
                time.sleep(resource.delay_s)
                self.send_response(resource.status)
                self.send_header("Content-Type", resource.content_type)
                self.send_header("Content-Length", str(len(resource.body)))
                self.end_headers()
                self.wfile.write(resource.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, resource: Resource) -> str:
        self.resources[path] = resource
        return self.url(path)

    @contextmanager
    def running(self) -> Iterator[ImageServer]:
        thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()
