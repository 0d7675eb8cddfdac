"""`python -m aggregator`: the same as `imgpipe aggregator`."""

from aggregator.run import run_aggregator

run_aggregator()
