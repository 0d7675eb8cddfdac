"""With IMGPIPE_API_KEYS set, each key sees only its own requests. (No key, no access: in-process,
in tests/api/test_api_keys.py.)"""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import API_KEYS
from tests.support.helpers import product_csv, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

ALICE, BOB = API_KEYS


def _upload(gateway: str, headers: dict[str, str], csv_text: str) -> httpx.Response:
    files = {"file": ("p.csv", csv_text.encode(), "text/csv")}
    return httpx.post(f"{gateway}/upload", files=files, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def alice_request(keyed_gateway: str, image_server: LocalHttpServer) -> str:
    url = image_server.add("/keys/a.jpg", Resource(photo_like_image(40, 30, seed=5), "image/jpeg"))
    response = _upload(keyed_gateway, {"Authorization": f"Bearer {ALICE}"}, product_csv([("1", "A", [url])]))
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    return request_id


@pytest.mark.parametrize("path", ["/status/{id}", "/download/{id}"])
def test_another_key_sees_404_not_403(keyed_gateway: str, alice_request: str, path: str) -> None:
    response = httpx.get(keyed_gateway + path.format(id=alice_request), headers={"X-API-Key": BOB})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_owner_sees_and_downloads_with_either_header(keyed_gateway: str, alice_request: str) -> None:
    status = wait_finished(keyed_gateway, alice_request, headers={"Authorization": f"Bearer {ALICE}"})
    assert status["status"] == "completed"
    download = httpx.get(f"{keyed_gateway}/download/{alice_request}", headers={"X-API-Key": ALICE})
    assert download.status_code == 200
    assert download.text.splitlines()[0].startswith('"S. No."')


def test_open_gateway_does_not_show_keyed_requests(stack: RunningStack, alice_request: str) -> None:
    # The same database, no key configured: a request that has an owner is not anyone's to see.
    assert httpx.get(f"{stack.base_url}/status/{alice_request}").status_code == 404
