"""`python -m bench.image_server DIR PORT`: serve every file of DIR from memory, as fast as we can.

Its own process, so that serving competes with the pipeline for the machine's cores (as a real
source server would not) but not for the benchmark driver's interpreter.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def image_app(directory: Path) -> web.Application:
    images = {f"/{path.name}": path.read_bytes() for path in directory.iterdir() if path.suffix == ".jpg"}

    async def serve(request: web.Request) -> web.Response:
        body = images.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    return app


if __name__ == "__main__":
    web.run_app(image_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), print=None)
