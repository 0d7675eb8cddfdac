"""GET /: the web page (gateway/api/web/, plain HTML, CSS and JavaScript), and its files under /web/."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

router = APIRouter()


# The page runs only its own script and talks only to this gateway; thumbnails are the exception,
# since input images live on any http(s) server.
_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' http: https:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


@router.get("/", response_class=FileResponse, include_in_schema=False)
async def web_page() -> FileResponse:
    headers = {
        # no-cache: a browser revalidates, so a new release's page is never mixed with old scripts.
        "Cache-Control": "no-cache",
        "Content-Security-Policy": _CONTENT_SECURITY_POLICY,
    }
    return FileResponse(WEB_DIR / "index.html", headers=headers)


web_files = StaticFiles(directory=WEB_DIR)
