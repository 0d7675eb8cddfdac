"""`python -m processors`: the same as `imgpipe processor` (start as many as you like)."""

from cli.services import run_processor

run_processor()
