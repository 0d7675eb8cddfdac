"""The services `imgpipe gateway|processor|aggregator` runs in this process.

The CLI depends on the services, never the reverse. A service's module is imported only when
that service is asked for: the client commands (submit, status, download) then start in about
0.1 s instead of 0.9 s, without loading Faust, FastAPI and Pillow they never use.
"""

from __future__ import annotations

import importlib

# Each service's command name, and the module and function that run it.
SERVICES: dict[str, tuple[str, str]] = {
    "gateway": ("gateway.run", "run_gateway"),
    "processor": ("processors.run", "run_processor"),
    "aggregator": ("aggregator.run", "run_aggregator"),
}


def run_service(name: str) -> None:
    module, function = SERVICES[name]
    getattr(importlib.import_module(module), function)()
