"""`python -m gateway`: the same as `imgpipe gateway`."""

from gateway.run import run_gateway

run_gateway()
