"""`python -m aggregator`: run the aggregator worker."""

from aggregator.app import app, settings
from imgpipe.faust_worker import run_worker

run_worker(app, settings)
