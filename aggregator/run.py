"""`imgpipe aggregator` and `python -m aggregator`: run one aggregator worker in this process."""

from __future__ import annotations

from aggregator.app import create_aggregator_app
from imgpipe.runtime.faust_worker import run_worker
from imgpipe.runtime.logs import configure_logging
from imgpipe.state.migration_runner import migrate
from imgpipe.state.migrations import MIGRATIONS
from imgpipe.storage.startup import settings_for_service


def run_aggregator() -> None:
    settings = settings_for_service("aggregator")
    configure_logging(settings.log_level)
    # The one service that migrates the stored layout at start (one run at a time, under a lease),
    # before it counts anything; the gateways and processors read both layouts meanwhile.
    migrate(settings, MIGRATIONS, "aggregator")
    run_worker(create_aggregator_app(settings), settings.process)
