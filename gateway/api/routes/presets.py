"""GET /presets: the named presets an upload may ask for (IMGPIPE_PRESETS), for clients and the web page."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.dependencies import SettingsOnly
from imgpipe.contract.presets import Preset

router = APIRouter()


@router.get("/presets")
async def presets(settings: SettingsOnly) -> list[Preset]:
    """Not secret and the same for every key: what the deployment is configured to make."""
    return list(settings.presets)
