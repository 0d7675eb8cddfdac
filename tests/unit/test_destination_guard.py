"""imgpipe.config.destination_guard.DestinationGuard: only public addresses on 80/443 by default."""

from __future__ import annotations

import ipaddress

import pytest
from yarl import URL

from imgpipe.config.destination_guard import BlockedDestination, DestinationGuard, parse_allowlist_entry

PUBLIC_IP = "93.184.216.34"


@pytest.fixture
def guard() -> DestinationGuard:
    return DestinationGuard(())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.jpg",
        "http://[::1]/a.jpg",
        "http://10.0.0.1/a.jpg",
        "http://172.16.0.1/a.jpg",
        "http://192.168.1.1/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/a.jpg",
        "http://0.0.0.0/a.jpg",
        "http://224.0.0.1/a.jpg",
        "http://[::ffff:127.0.0.1]/a.jpg",
        "http://[fc00::1]/a.jpg",
        "http://[fe80::1]/a.jpg",
        "https://127.0.0.1:443/a.jpg",
        f"http://{PUBLIC_IP}:8080/a.jpg",
        f"https://{PUBLIC_IP}:8443/a.jpg",
        f"http://user:password@{PUBLIC_IP}/a.jpg",
        f"http://user@{PUBLIC_IP}/a.jpg",
        f"ftp://{PUBLIC_IP}/a.jpg",
        "file:///etc/passwd",
    ],
)
def test_blocked_urls(guard: DestinationGuard, url: str) -> None:
    with pytest.raises(BlockedDestination):
        guard.check_url(URL(url))


@pytest.mark.parametrize(
    "url",
    [
        f"http://{PUBLIC_IP}/",
        f"https://{PUBLIC_IP}:443/",
        f"https://{PUBLIC_IP}/image.jpg?size=large",
        f"http://{PUBLIC_IP}:80/a.jpg",
    ],
)
def test_public_ip_on_standard_ports_is_allowed(guard: DestinationGuard, url: str) -> None:
    guard.check_url(URL(url))  # does not raise


def test_network_allowlist_allows_loopback_on_any_port() -> None:
    guard = DestinationGuard((parse_allowlist_entry("127.0.0.1/32"),))

    for url in ("http://127.0.0.1/a.jpg", "http://127.0.0.1:8765/a.jpg", "https://127.0.0.1:1/"):
        guard.check_url(URL(url))  # does not raise

    with pytest.raises(BlockedDestination):
        guard.check_url(URL("http://127.0.0.2/a.jpg"))  # outside the /32
    with pytest.raises(BlockedDestination):
        guard.check_url(URL("http://10.0.0.1/a.jpg"))


def test_host_port_allowlist_allows_only_that_host_and_port() -> None:
    guard = DestinationGuard((parse_allowlist_entry("localhost:8765"),))

    guard.check_url(URL("http://localhost:8765/a.jpg"))  # does not raise
    guard.check_url(URL("http://LOCALHOST:8765/a.jpg"))  # host names are case-insensitive

    for url in (
        "http://localhost:8766/a.jpg",
        "http://127.0.0.1:8765/a.jpg",
        "http://127.0.0.1/a.jpg",
        f"http://{PUBLIC_IP}:8765/a.jpg",
    ):
        with pytest.raises(BlockedDestination):
            guard.check_url(URL(url))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.31.255.255",
        "192.168.0.10",
        "169.254.169.254",
        "100.100.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "::1",
        "fc00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "ff02::1",
    ],
)
def test_check_address_refuses_non_public_addresses(guard: DestinationGuard, address: str) -> None:
    assert guard.check_address("images.example.com", 443, ipaddress.ip_address(address)) is False
    assert guard.check_address("images.example.com", 80, ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", [PUBLIC_IP, "8.8.8.8", "2606:4700:4700::1111"])
def test_check_address_allows_public_addresses_on_80_and_443(guard: DestinationGuard, address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert guard.check_address("images.example.com", 80, ip) is True
    assert guard.check_address("images.example.com", 443, ip) is True
    assert guard.check_address("images.example.com", 8080, ip) is False


def test_check_address_honours_the_allowlist() -> None:
    guard = DestinationGuard((parse_allowlist_entry("10.0.0.0/8"), parse_allowlist_entry("localhost:8765")))
    loopback = ipaddress.ip_address("127.0.0.1")

    assert guard.check_address("internal.example", 9000, ipaddress.ip_address("10.9.8.7")) is True
    assert guard.check_address("localhost", 8765, loopback) is True
    assert guard.check_address("localhost", 8766, loopback) is False
    assert guard.check_address("evil.example", 8765, loopback) is False
