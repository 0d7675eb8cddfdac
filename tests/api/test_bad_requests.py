"""Requests the gateway refuses before any dependency: the exact status, the exact error code,
and JSON of the documented shape. (The cases that need a real server's HTTP parser, a stored
request or the broker are in tests/integration/test_bad_inputs.py and test_api_errors.py.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.conftest import MAX_UPLOAD_BYTES
from tests.support.error_answers import answer_of, assert_error

VALID_CSV = b"S. No.,Product Name,Input Image Urls\n1,Widget,http://example.com/a.jpg\n"
BOUNDARY = "imgpipe-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
SOME_ID = str(uuid.uuid4())
A_FILE = {"file": ("products.csv", VALID_CSV, "text/csv")}


async def _chunked_oversized_body() -> AsyncIterator[bytes]:
    """A multipart upload streamed without Content-Length, larger than the limit, in 64 KB chunks."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + VALID_CSV
    row = b"1,Widget,http://example.com/a.jpg\n"
    chunk = row * (64 * 1024 // len(row))
    for _ in range((MAX_UPLOAD_BYTES + 200_000) // len(chunk) + 1):
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    arguments: dict[str, Any]
    status: int
    error: str


def case(id: str, method: str, path: str, status: int, error: str, **arguments: Any) -> Case:
    return Case(id, method, path, arguments, status, error)


CASES = [
    case("no-file-field", "POST", "/upload", 422, "invalid_request", files={"note": (None, "hello")}),
    case(
        "file-field-named-upload",
        "POST",
        "/upload",
        422,
        "invalid_request",
        files={"upload": ("products.csv", VALID_CSV, "text/csv")},
    ),
    case(
        "file-as-plain-form-string",
        "POST",
        "/upload",
        422,
        "invalid_request",
        files={"file": (None, VALID_CSV.decode())},
    ),
    case("file-as-urlencoded-field", "POST", "/upload", 422, "invalid_request", data={"file": "x"}),
    case("json-body", "POST", "/upload", 422, "invalid_request", json={"file": VALID_CSV.decode()}),
    case(
        "raw-csv-body",
        "POST",
        "/upload",
        422,
        "invalid_request",
        content=VALID_CSV,
        headers={"Content-Type": "text/csv"},
    ),
    case(
        "empty-multipart-body",
        "POST",
        "/upload",
        422,
        "invalid_request",
        content=b"",
        headers={"Content-Type": MULTIPART},
    ),
    case(
        "multipart-without-boundary",
        "POST",
        "/upload",
        400,
        "invalid_request",
        content=b"junk",
        headers={"Content-Type": "multipart/form-data"},
    ),
    case("no-body-at-all", "POST", "/upload", 422, "invalid_request"),
    case("get-upload", "GET", "/upload", 405, "method_not_allowed"),
    case("put-upload", "PUT", "/upload", 405, "method_not_allowed", content=VALID_CSV),
    case("delete-status", "DELETE", f"/status/{SOME_ID}", 405, "method_not_allowed"),
    case("post-healthz", "POST", "/healthz", 405, "method_not_allowed"),
    case(
        "declared-50-mb",
        "POST",
        "/upload",
        413,
        "upload_too_large",
        content=VALID_CSV,
        headers={"Content-Type": MULTIPART, "Content-Length": "50000000"},
    ),
    case(
        "chunked-body-over-the-limit",
        "POST",
        "/upload",
        413,
        "upload_too_large",
        content=_chunked_oversized_body(),
        headers={"Content-Type": MULTIPART},
    ),
    case(
        "webhook-not-a-url",
        "POST",
        "/upload",
        400,
        "invalid_webhook_url",
        files=A_FILE,
        data={"webhook_url": "not a url"},
    ),
    case(
        "webhook-ftp",
        "POST",
        "/upload",
        400,
        "invalid_webhook_url",
        files=A_FILE,
        data={"webhook_url": "ftp://x/y"},
    ),
    case(
        "webhook-javascript",
        "POST",
        "/upload",
        400,
        "invalid_webhook_url",
        files=A_FILE,
        data={"webhook_url": "javascript:alert(1)"},
    ),
    case("unknown-route", "GET", "/nope", 404, "not_found"),
    case("status-not-a-uuid", "GET", "/status/not-a-uuid", 422, "invalid_request"),
    case("download-number", "GET", "/download/123", 422, "invalid_request"),
    case("status-uuid-with-suffix", "GET", f"/status/{SOME_ID}x", 422, "invalid_request"),
    case("status-rows-not-boolean", "GET", f"/status/{SOME_ID}?rows=maybe", 422, "invalid_request"),
    case("image-period-not-number", "GET", "/processed_images/outputs/1/x/aa/a.jpg", 422, "invalid_request"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_bad_request(api: httpx.AsyncClient, case: Case) -> None:
    response = await api.request(case.method, case.path, **case.arguments)
    assert_error(answer_of(response), case.status, case.error)


@pytest.mark.parametrize("quality", ["0", "96", "-5", "1000", "abc", "50.5", "\u0663", " ", "9" * 5000])
async def test_quality_outside_1_to_95_is_400(api: httpx.AsyncClient, quality: str) -> None:
    response = await api.post("/upload", files=A_FILE, data={"quality": quality})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_quality",
        "message": f"quality must be a whole number from 1 to 95, not {quality[:40]!r}",
    }


@pytest.mark.parametrize("params", [{"limit": 100_000}, {"limit": 0}, {"limit": 5_001}, {"offset": -1}])
async def test_a_bad_page_is_a_400(api: httpx.AsyncClient, params: dict[str, int]) -> None:
    response = await api.get(f"/status/{SOME_ID}", params={"rows": "true", **params})
    assert_error(answer_of(response), 400, "invalid_page")
