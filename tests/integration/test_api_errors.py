"""404, 409 and 400 answers: JSON, precise, and nothing created for a rejected file."""

from __future__ import annotations

import uuid

import httpx
import pytest
from pymongo import MongoClient

from imgpipe.state.database import PUBLISHING, REQUEST_STATES, REQUESTS, UNFINISHED_REQUESTS, Document
from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/status/{id}", "/download/{id}"])
def test_unknown_request_is_404_json(stack: RunningStack, path: str) -> None:
    response = httpx.get(stack.base_url + path.format(id=uuid.uuid4()))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_malformed_request_id_is_422_json(stack: RunningStack) -> None:
    response = httpx.get(f"{stack.base_url}/status/..%2F..%2Fetc")
    assert response.status_code in (404, 422)
    assert "error" in response.json()


def test_download_before_finishing_is_409_with_status(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    slow = image_server.add(
        "/slow/a.jpg", Resource(photo_like_image(64, 64, seed=3), "image/jpeg", delay_s=1.5)
    )
    request_id = upload(stack.base_url, product_csv([("1", "Slow", [slow])])).json()["request_id"]
    response = httpx.get(f"{stack.base_url}/download/{request_id}")
    assert response.status_code == 409
    assert response.json()["status"] in ("queued", "processing")
    assert wait_finished(stack.base_url, request_id)["status"] == "completed"
    assert httpx.get(f"{stack.base_url}/download/{request_id}").status_code == 200


def test_rejected_csv_lists_problems_and_creates_nothing(
    stack: RunningStack, mongo: MongoClient[Document]
) -> None:
    db = mongo[stack.settings.mongodb_database]
    collections = [
        collection.name for collection in (REQUESTS, REQUEST_STATES, UNFINISHED_REQUESTS, PUBLISHING)
    ]
    before = [db[name].count_documents({}) for name in collections]
    csv_text = (
        "S. No.,Product Name,Input Image Urls\n"
        '1,Good,"https://example.com/a.jpg"\n'
        '2,,"https://example.com/b.jpg"\n'
        '3,Bad URL,"ftp://example.com/c.jpg"\n'
    )
    response = upload(stack.base_url, csv_text)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "csv_rejected"
    assert [(p["line"], p["column"]) for p in body["problems"]] == [
        (3, "Product Name"),
        (4, "Input Image Urls"),
    ]
    assert [db[name].count_documents({}) for name in collections] == before


def test_a_quality_outside_1_to_95_creates_nothing(stack: RunningStack, mongo: MongoClient[Document]) -> None:
    """The table of refused qualities is in-process (tests/api/test_bad_requests.py); here, that
    a refused one leaves nothing in the database."""
    quality = "96"
    db = mongo[stack.settings.mongodb_database]
    before = db[REQUESTS.name].count_documents({})

    response = upload(
        stack.base_url, product_csv([("1", "A", ["https://example.com/a.jpg"])]), quality=quality
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_quality",
        "message": f"quality must be a whole number from 1 to 95, not {quality!r}",
    }
    assert db[REQUESTS.name].count_documents({}) == before


def test_missing_column_is_400(stack: RunningStack) -> None:
    response = upload(stack.base_url, "S. No.,Product Name\n1,A\n")
    assert response.status_code == 400
    assert response.json()["problems"][0] == {
        "line": 1,
        "column": "Input Image Urls",
        "message": "the header has no 'Input Image Urls' column",
    }
