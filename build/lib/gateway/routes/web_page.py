"""GET /: the web page (gateway/web/, plain HTML, CSS and JavaScript), and its files under /web/."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

router = APIRouter()


@router.get("/", response_class=FileResponse, include_in_schema=False)
async def web_page() -> FileResponse:
    # no-cache: a browser revalidates, so a new release's page is never mixed with old scripts.
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})


web_files = StaticFiles(directory=WEB_DIR)
