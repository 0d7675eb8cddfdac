"""Refuse to start a server on a port something else already holds.

Otherwise the new server dies quietly on start while the readiness check happily talks to the
old one: a leftover from an earlier run, with other data and other settings.
"""

from __future__ import annotations

import socket
import time


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def require_free(port: int, what: str, grace_s: float = 5.0) -> None:
    # A server killed a moment ago may still hold its socket while the kernel tears it down.
    deadline = time.monotonic() + grace_s
    while port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    if port_in_use(port):
        raise SystemExit(
            f"port {port} for {what} is already in use by a process this stack did not start "
            "(a leftover from an earlier run?); stop it or choose another port"
        )
