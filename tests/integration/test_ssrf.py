"""No image URL can make imgpipe reach a destination it must not: every form is refused, and a
loopback server that is not allowlisted never receives a request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration


def _blocked_urls(port: int) -> dict[str, str]:
    """Every refused form. Private and reserved ranges use port 80: refused before any packet."""
    return {
        "loopback": f"http://127.0.0.1:{port}/a.jpg",
        "loopback-other-address": f"http://127.0.0.2:{port}/a.jpg",
        "localhost-name": f"http://localhost:{port}/a.jpg",
        "decimal-integer": f"http://2130706433:{port}/a.jpg",
        "hex-short": f"http://0x7f.1:{port}/a.jpg",
        "octal": f"http://0177.0.0.1:{port}/a.jpg",
        "short-dotted": f"http://127.1:{port}/a.jpg",
        "ipv6-loopback": f"http://[::1]:{port}/a.jpg",
        "ipv4-mapped-ipv6": f"http://[::ffff:127.0.0.1]:{port}/a.jpg",
        "ipv4-mapped-ipv6-hex": f"http://[::ffff:7f00:1]:{port}/a.jpg",
        "unspecified-v4": f"http://0.0.0.0:{port}/a.jpg",
        "unspecified-v6": "http://[::]/a.jpg",
        "private-10": "http://10.0.0.1/a.jpg",
        "private-172": "http://172.16.0.1/a.jpg",
        "private-192": "http://192.168.1.1/a.jpg",
        "link-local-metadata": "http://169.254.169.254/latest/meta-data/",
        "carrier-grade-nat": "http://100.64.0.1/a.jpg",
        "multicast-v4": "http://224.0.0.1/a.jpg",
        "reserved-v4": "http://240.0.0.1/a.jpg",
        "broadcast": "http://255.255.255.255/a.jpg",
        "unique-local-v6": "http://[fc00::1]/a.jpg",
        "link-local-v6": "http://[fe80::1]/a.jpg",
        "multicast-v6": "http://[ff02::1]/a.jpg",
        "nat64-of-loopback": "http://[64:ff9b::7f00:1]/a.jpg",
        "credentials": "http://user:secret@example.com/a.jpg",
        "public-address-odd-port": "http://93.184.216.34:8080/a.jpg",
    }


@pytest.fixture(scope="module")
def ssrf_request(
    stack: RunningStack, image_server: LocalHttpServer, forbidden_server: LocalHttpServer
) -> dict[str, Any]:
    forbidden_server.resources["/a.jpg"] = Resource(photo_like_image(20, 20, seed=1), "image/jpeg")
    urls = _blocked_urls(forbidden_server.port)
    # An allowed server redirecting to the forbidden one: the second hop must be refused.
    urls["redirect-hop"] = image_server.add(
        "/ssrf/redirect",
        Resource(b"", status=302, headers=(("Location", forbidden_server.url("/a.jpg")),)),
    )
    rows = [(str(n), name, [url]) for n, (name, url) in enumerate(urls.items(), start=1)]
    response = upload(stack.base_url, product_csv(rows))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    status = wait_finished(stack.base_url, request_id)
    details = httpx.get(f"{stack.base_url}/status/{request_id}", params={"rows": "true"}).json()
    return {"status": status, "rows": {row["product_name"]: row for row in details["row_details"]}}


@pytest.mark.parametrize("name", [*_blocked_urls(0), "redirect-hop"])
def test_destination_is_refused(ssrf_request: dict[str, Any], name: str) -> None:
    image = ssrf_request["rows"][name]["images"][0]
    assert image["output_url"] is None
    assert image["error"]["code"] == "blocked_destination"


def test_request_still_completes(ssrf_request: dict[str, Any]) -> None:
    status = ssrf_request["status"]
    assert status["status"] == "completed_with_errors"
    assert status["images"]["failed"] == status["images"]["total"]


def test_forbidden_server_received_nothing(
    ssrf_request: dict[str, Any], forbidden_server: LocalHttpServer
) -> None:
    assert forbidden_server.requests == []
