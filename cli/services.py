"""`imgpipe gateway|processor|aggregator`: run one service in this process.

Imports happen inside each function: a service module sets itself up on import (settings,
Faust app), and the client commands need none of that.

Before a service starts, its settings are read and its storage checked: settings that cannot work
stop it with one line on stderr, not a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgpipe.settings import Settings


def _settings_for(service: str) -> Settings:
    from pydantic import ValidationError

    from imgpipe.settings import get_settings
    from imgpipe.storage.factory import open_storage
    from imgpipe.storage.startup import require_usable_storage

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


def run_gateway() -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.header_limit import header_limited_protocol
    from imgpipe.logs import configure_logging

    settings = _settings_for("gateway")
    configure_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        http=header_limited_protocol(settings.max_header_bytes),
    )


def run_processor() -> None:
    _settings_for("processor")
    from imgpipe.faust_worker import run_worker
    from processors.app import app, settings

    run_worker(app, settings)


def run_aggregator() -> None:
    _settings_for("aggregator")
    from aggregator.app import app, settings
    from imgpipe.faust_worker import run_worker

    run_worker(app, settings)


SERVICES = {"gateway": run_gateway, "processor": run_processor, "aggregator": run_aggregator}
