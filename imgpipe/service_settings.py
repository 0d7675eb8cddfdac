"""The settings a service starts with, read and checked before it starts.

Settings that cannot work, or a storage that refuses them, stop the service with one line on
stderr, not a traceback.
"""

from __future__ import annotations

from pydantic import ValidationError

from imgpipe.settings import Settings, get_settings
from imgpipe.storage.factory import open_storage
from imgpipe.storage.startup import require_usable_storage


def settings_for_service(service: str) -> Settings:
    try:
        settings = get_settings()
    except ValidationError as invalid:
        problems = "; ".join(
            f"IMGPIPE_{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in invalid.errors()
        )
        raise SystemExit(f"imgpipe {service}: invalid settings: {problems}") from None
    require_usable_storage(open_storage(settings), service)
    return settings
