"""`python -m processors`: the same as `imgpipe processor` (start as many as you like)."""

from processors.run import run_processor

run_processor()
