"""Which network destinations image fetching may reach.

Public addresses on ports 80 and 443 are allowed. Loopback, private, link-local, carrier-grade
NAT, multicast, reserved and unspecified addresses (IPv4, IPv6 and IPv4-mapped IPv6) are refused,
as is any other port, unless IMGPIPE_FETCH_ALLOWLIST names them. Addresses are checked after DNS
resolution, by the resolver the connection itself uses, so a name that re-resolves to a private
address between check and connect (DNS rebinding) is still refused.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL


@dataclass(frozen=True)
class AllowedHostPort:
    """One `host:port` allowlist entry: exactly that host name (or address) on exactly that port."""

    host: str
    port: int


AllowlistEntry = AllowedHostPort | ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowlist_entry(text: str) -> AllowlistEntry:
    """`10.0.0.0/8`, `::1/128` or `127.0.0.1` are networks; `host:port` and `[v6]:port` are pairs."""
    if "/" in text:
        return ipaddress.ip_network(text, strict=False)
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        pass
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"allowlist entry {text!r} is neither a CIDR network nor host:port")
    return AllowedHostPort(host=host.strip("[]").lower(), port=int(port))


def parse_allowlist(text: str) -> tuple[AllowlistEntry, ...]:
    """IMGPIPE_FETCH_ALLOWLIST: comma-separated entries; blanks between commas are ignored."""
    return tuple(parse_allowlist_entry(part.strip()) for part in text.split(",") if part.strip())


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_STANDARD_PORTS = frozenset({80, 443})


class BlockedDestination(Exception):
    """The URL or the address it resolves to is not a destination imgpipe may fetch from."""


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _canonical(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, Teredo), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return address


def is_public_address(address: IPAddress) -> bool:
    address = _canonical(address)
    return address.is_global and not address.is_multicast


class DestinationGuard:
    def __init__(self, allowlist: tuple[AllowlistEntry, ...]) -> None:
        self._pairs = {(e.host, e.port) for e in allowlist if isinstance(e, AllowedHostPort)}
        self._networks = [e for e in allowlist if not isinstance(e, AllowedHostPort)]

    def _in_allowed_network(self, address: IPAddress) -> bool:
        address = _canonical(address)
        return any(address in network for network in self._networks)

    def _pair_allowed(self, host: str, port: int) -> bool:
        return (host.lower(), port) in self._pairs

    def check_url(self, url: URL) -> None:
        """Refuse what can be refused before any connection: scheme, credentials, port, IP literal."""
        if url.scheme not in ("http", "https") or not url.host:
            raise BlockedDestination(f"{url.scheme}:// URLs are not fetched")
        if url.user is not None or url.password is not None:
            raise BlockedDestination("URLs with credentials are not fetched")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            literal: IPAddress | None = ipaddress.ip_address(url.host)
        except ValueError:
            literal = None
        if self._pair_allowed(url.host, port):
            return
        if literal is not None and self._in_allowed_network(literal):
            return
        if port not in _STANDARD_PORTS:
            raise BlockedDestination(f"port {port} is not allowed")
        # IP literals never reach the resolver, so they are checked here.
        if literal is not None and not is_public_address(literal):
            raise BlockedDestination(f"{literal} is not a public address")

    def check_address(self, host: str, port: int, address: IPAddress) -> bool:
        if self._pair_allowed(host, port) or self._pair_allowed(str(address), port):
            return True
        if self._in_allowed_network(address):
            return True
        return port in _STANDARD_PORTS and is_public_address(address)


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then drops every address the guard refuses."""

    def __init__(self, guard: DestinationGuard) -> None:
        self._guard = guard
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        allowed = [
            result
            for result in results
            if self._guard.check_address(host, port, ipaddress.ip_address(result["host"]))
        ]
        if not allowed:
            raise BlockedDestination(f"{host} resolves only to addresses that are not allowed")
        return allowed

    async def close(self) -> None:
        await self._resolver.close()
