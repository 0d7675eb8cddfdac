"""With IMGPIPE_API_KEYS set, a call without a valid key is refused with 401 JSON before anything
else happens. (Which key sees which request needs stored requests: tests/integration/test_api_keys.py.)"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.api.conftest import API_KEYS
from tests.support.error_answers import answer_of, assert_error

ALICE = API_KEYS[0]
CSV = b"S. No.,Product Name,Input Image Urls\n1,A,https://example.com/a.jpg\n"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": f"Basic {ALICE}"}],
    ids=["none", "wrong-bearer", "wrong-x-api-key", "wrong-scheme"],
)
async def test_upload_without_a_valid_key_is_401(
    keyed_api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await keyed_api.post("/upload", files={"file": ("p.csv", CSV, "text/csv")}, headers=headers)
    assert_error(answer_of(response), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/status/{id}", "/download/{id}"])
async def test_status_and_download_need_a_key(keyed_api: httpx.AsyncClient, path: str) -> None:
    response = await keyed_api.get(path.format(id=uuid.uuid4()))
    assert_error(answer_of(response), 401, "unauthorized")
