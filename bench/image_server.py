"""`python -m bench.image_server DIR PORT`: serve every JPEG under DIR from memory, as fast as we can.

A file's URL is its path under DIR (`DIR/small/00001.jpg` is `/small/00001.jpg`); a query string
is ignored, so one file is also served under as many distinct URLs as a benchmark needs.

Its own process, so that serving competes with the pipeline for the machine's cores (as a real
source server would not) but not for the benchmark driver's interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from aiohttp import web

from devstack.paths import ROOT, VENV_PYTHON
from devstack.ports import require_free
from devstack.waiting import wait_until

IMAGE_SERVER_PORT = 25100  # below the ephemeral ports, as the bench stack's (bench/stack.py)


def image_app(directory: Path) -> web.Application:
    images = {
        f"/{path.relative_to(directory).as_posix()}": path.read_bytes() for path in directory.rglob("*.jpg")
    }

    async def serve(request: web.Request) -> web.Response:
        body = images.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{path:.+}", serve)
    return app


def start_image_server(directory: Path) -> subprocess.Popen[bytes]:
    """The server on IMAGE_SERVER_PORT, once it answers; the caller terminates it."""
    require_free(IMAGE_SERVER_PORT, "the benchmark's image server")
    server = subprocess.Popen(
        [str(VENV_PYTHON), "-m", "bench.image_server", str(directory), str(IMAGE_SERVER_PORT)], cwd=ROOT
    )
    wait_until(lambda: _answers(f"http://127.0.0.1:{IMAGE_SERVER_PORT}/00000.jpg"), 30, "the image server")
    return server


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


if __name__ == "__main__":
    web.run_app(image_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), print=None)
