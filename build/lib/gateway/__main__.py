"""`python -m gateway`: the same as `imgpipe gateway`."""

from cli.services import run_gateway

run_gateway()
