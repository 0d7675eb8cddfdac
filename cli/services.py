"""The services `imgpipe gateway|processor|aggregator` runs in this process.

The CLI depends on the services, never the reverse; importing them starts nothing (each service
is built by a factory when it runs).
"""

from __future__ import annotations

from collections.abc import Callable

from aggregator.run import run_aggregator
from gateway.run import run_gateway
from processors.run import run_processor

SERVICES: dict[str, Callable[[], None]] = {
    "gateway": run_gateway,
    "processor": run_processor,
    "aggregator": run_aggregator,
}
