"""`python -m aggregator`: the same as `imgpipe aggregator`."""

from cli.services import run_aggregator

run_aggregator()
