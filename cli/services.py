"""`imgpipe gateway|processor|aggregator`: run one service in this process.

Imports happen inside each function: a service module sets itself up on import (settings,
Faust app), and the client commands need none of that.
"""

from __future__ import annotations


def run_gateway() -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.header_limit import header_limited_protocol
    from imgpipe.logs import configure_logging
    from imgpipe.settings import get_settings

    settings = get_settings()
    configure_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        http=header_limited_protocol(settings.max_header_bytes),
    )


def run_processor() -> None:
    from imgpipe.faust_worker import run_worker
    from processors.app import app, settings

    run_worker(app, settings)


def run_aggregator() -> None:
    from aggregator.app import app, settings
    from imgpipe.faust_worker import run_worker

    run_worker(app, settings)


SERVICES = {"gateway": run_gateway, "processor": run_processor, "aggregator": run_aggregator}
