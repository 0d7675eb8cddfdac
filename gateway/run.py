"""`imgpipe gateway` and `python -m gateway`: run the gateway in this process (uvicorn)."""

from __future__ import annotations

import uvicorn

from gateway.api.header_limit import header_limited_protocol
from gateway.api.key_policies import InvalidKeyPolicies
from gateway.app import create_app
from imgpipe.runtime.logs import configure_logging
from imgpipe.storage.startup import settings_for_service


def run_gateway() -> None:
    settings = settings_for_service("gateway")
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except InvalidKeyPolicies as invalid:
        raise SystemExit(f"imgpipe gateway: {invalid}") from None
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        http=header_limited_protocol(settings.max_header_bytes),
    )
