"""`imgpipe aggregator` and `python -m aggregator`: run one aggregator worker in this process."""

from __future__ import annotations

from aggregator.app import create_aggregator_app
from imgpipe.faust_worker import run_worker
from imgpipe.service_settings import settings_for_service


def run_aggregator() -> None:
    settings = settings_for_service("aggregator")
    run_worker(create_aggregator_app(settings), settings)
