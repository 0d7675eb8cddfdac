"""A real uvicorn server over a socket, with the gateway's protocol, refuses oversized request heads.

The gateway app runs without its lifespan (no broker, no database): `/healthz` needs neither,
and the limit is enforced before any route runs.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn

from gateway.api.header_limit import header_limited_protocol
from gateway.app import create_app
from imgpipe.config.settings import Settings

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def gateway_port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(Settings()),
        lifespan="off",
        log_config=None,
        http=header_limited_protocol(LIMIT),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            threading.Event().wait(0.02)
        yield int(listener.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def exchange(connection: socket.socket, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes (no client normalizes them), read one response."""
    # The gateway may answer and close before reading everything: then read its answer.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        connection.sendall(request)
    response = http.client.HTTPResponse(connection)
    response.begin()
    return response.status, response.read()


def healthz_request(header_value_bytes: int) -> bytes:
    """GET /healthz with one `X-Padding` header whose value has the given size."""
    padding = "a" * header_value_bytes
    return f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {padding}\r\n\r\n".encode()


def get_healthz(port: int, header_value_bytes: int) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        return exchange(connection, healthz_request(header_value_bytes))


def assert_header_too_large(answer: tuple[int, bytes]) -> None:
    status, body = answer
    assert status == 431
    assert json.loads(body) == {
        "error": "header_too_large",
        "message": f"the request's header is larger than {LIMIT} bytes",
    }


@pytest.mark.parametrize("header_bytes", [8 * 1024 * 1024, 70 * 1024, LIMIT])
def test_an_oversized_header_gets_431_json(gateway_port: int, header_bytes: int) -> None:
    assert_header_too_large(get_healthz(gateway_port, header_bytes))


@pytest.mark.parametrize("header_bytes", [0, 10 * 1024, LIMIT - 1024])
def test_a_header_within_the_limit_is_served(gateway_port: int, header_bytes: int) -> None:
    assert get_healthz(gateway_port, header_bytes) == (200, b'{"status":"ok"}')


def test_every_request_of_a_kept_alive_connection_is_limited(gateway_port: int) -> None:
    with socket.create_connection(("127.0.0.1", gateway_port), timeout=30) as connection:
        assert exchange(connection, healthz_request(10 * 1024))[0] == 200
        assert_header_too_large(exchange(connection, healthz_request(70 * 1024)))


def test_a_body_arriving_with_its_header_does_not_count(gateway_port: int) -> None:
    """A small head followed by 1 MB of body in one write: the read crosses the limit, the head
    does not, so the request reaches the app (which refuses POST /healthz with its own 405)."""
    body = b"x" * 1024 * 1024
    head = f"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", gateway_port), timeout=30) as connection:
        status, answer = exchange(connection, head.encode() + body)
    assert (status, json.loads(answer)["error"]) == (405, "method_not_allowed")
