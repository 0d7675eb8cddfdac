"""Ports for the local stacks: refuse one that something else holds, and find free ones.

Refusing matters because otherwise a new server dies quietly on start while the readiness check
happily talks to the old one: a leftover from an earlier run, with other data and other settings.

Throwaway stacks (tests, benchmarks) take their ports below Linux's ephemeral range (32768-60999,
net.ipv4.ip_local_port_range): there, any outgoing connection of any process may hold a port at
the moment a server binds it (a `make test` run under load failed so). Kafka, FerretDB and
SeaweedFS must be told their ports in advance, so a port cannot come from binding port 0; one
below that range is only ever taken by another server, and is checked free right before use.
"""

from __future__ import annotations

import random
import socket
import time

# Below the ephemeral range, above the well-known and most registered development defaults
# (8000, 8333, 9092, 27017 stay free for `make up`).
_OWN_PORTS = range(10_000, 32_768)
_ATTEMPTS = 200


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _bindable(port: int) -> bool:
    """Nothing listens on the port and no socket holds it bound (a stricter test than connecting)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_block(size: int) -> int:
    """The first of `size` consecutive ports below the ephemeral range that are all free now.

    Chosen at random, so that stacks started at the same time by different checkouts do not
    all try the same block."""
    for _ in range(_ATTEMPTS):
        first = random.randrange(_OWN_PORTS.start, _OWN_PORTS.stop - size)
        if all(_bindable(port) for port in range(first, first + size)):
            return first
    raise RuntimeError(f"no {size} consecutive free ports in {_OWN_PORTS.start}-{_OWN_PORTS.stop - 1}")


class PortInUse(RuntimeError):
    """A port a server is about to take is held by a process this stack did not start."""


def require_free(port: int, what: str, grace_s: float = 5.0) -> None:
    # A server killed a moment ago may still hold its socket while the kernel tears it down.
    deadline = time.monotonic() + grace_s
    while port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    if port_in_use(port):
        raise PortInUse(
            f"port {port} for {what} is already in use by a process this stack did not start "
            "(a leftover from an earlier run?); stop it or choose another port"
        )
