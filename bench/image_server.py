"""`python -m bench.image_server DIR PORT`: serve every JPEG under DIR from memory, as fast as we can.

A file's URL is its path under DIR (`DIR/small/00001.jpg` is `/small/00001.jpg`). A query string
makes the image another one: its text is appended after the JPEG's end, which decoders ignore,
so the pixels are the same but the bytes, and so their content hash, are the URL's own. A
benchmark thus gets as many distinct images as it needs, and each upload with a fresh query is
fresh work for a pipeline that never compresses the same bytes twice.

Each answer carries an `ETag` (a hash of its file's bytes and its query, which together make its
bytes) and `Last-Modified`, and a conditional GET that matches gets `304`, as from a static file
server. `GET /_stats` answers how many image GETs were served so far, and how many of them were
conditional.

Its own process, so that serving competes with the pipeline for the machine's cores (as a real
source server would not) but not for the benchmark driver's interpreter.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from bench.memory import child_pids
from devstack.paths import ROOT, VENV_PYTHON
from devstack.ports import require_free
from devstack.waiting import wait_until

IMAGE_SERVER_PORT = 25100  # below the ephemeral ports (devstack/ports.py says why); checked free
LAST_MODIFIED = "Sun, 01 Nov 2026 00:00:00 GMT"


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=12).digest()


def image_app(directory: Path) -> web.Application:
    # Each file with its bytes' digest, hashed once here: a URL's tag is then derived from that
    # and its query (which is all that makes its bytes differ) instead of hashing the whole body
    # on every request: measured, 0.32 ms of CPU per photo became 0.21 on the cores the pipeline
    # is measured on.
    images: dict[str, tuple[bytes, bytes]] = {}
    for path in directory.rglob("*.jpg"):
        data = path.read_bytes()
        images[f"/{path.relative_to(directory).as_posix()}"] = (data, _digest(data))
    stats = {"requests": 0, "conditional": 0}

    async def serve(request: web.Request) -> web.Response:
        image = images.get(request.path)
        if image is None:
            raise web.HTTPNotFound()
        stats["requests"] += 1
        body, digest = image
        if request.query_string:
            suffix = request.query_string.encode()
            body, digest = body + suffix, _digest(digest + suffix)
        etag = f'"{digest.hex()}"'
        validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None or "If-Modified-Since" in request.headers:
            stats["conditional"] += 1
        if if_none_match == etag:
            return web.Response(status=304, headers=validators)
        return web.Response(body=body, content_type="image/jpeg", headers=validators)

    async def serve_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    app = web.Application()
    app.router.add_get("/_stats", serve_stats)
    app.router.add_get("/{path:.+}", serve)
    return app


def fresh_urls(urls: Sequence[str]) -> list[str]:
    """The same images under URLs never used before, with bytes of their own: new work."""
    run = uuid.uuid4().hex[:12]
    return [f"{url}?run={run}" for url in urls]


def source_requests(stats_url: str) -> tuple[int, int]:
    """Image GETs the server has answered, and how many of them were conditional."""
    with urllib.request.urlopen(stats_url, timeout=10) as response:
        stats = json.load(response)
    return int(stats["requests"]), int(stats["conditional"])


def start_image_server(directory: Path) -> subprocess.Popen[bytes]:
    """The server on IMAGE_SERVER_PORT, once it answers; the caller terminates it."""
    require_free(IMAGE_SERVER_PORT, "the benchmark's image server")
    server = subprocess.Popen(
        [str(VENV_PYTHON), "-m", "bench.image_server", str(directory), str(IMAGE_SERVER_PORT)], cwd=ROOT
    )
    wait_until(lambda: _answers(f"http://127.0.0.1:{IMAGE_SERVER_PORT}/_stats"), 30, "the image server")
    return server


def image_server_pid() -> int:
    """The image server this process started (`start_image_server`), found among its children
    by its command: the others are the bench stack's, and any not yet reaped."""
    [pid] = [
        child
        for child in child_pids(os.getpid())
        if "bench.image_server" in Path(f"/proc/{child}/cmdline").read_text()
    ]
    return pid


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


if __name__ == "__main__":
    web.run_app(image_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), print=None)
