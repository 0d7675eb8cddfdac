"""GET /presets: the named presets an upload may ask for (IMGPIPE_PRESETS), for clients and the web page."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.dependencies import ImageSettingsOnly
from imgpipe.contract.presets import Preset

router = APIRouter()


@router.get("/presets")
async def presets(images: ImageSettingsOnly) -> list[Preset]:
    """Not secret and the same for every key: what the deployment is configured to make."""
    return list(images.presets)
