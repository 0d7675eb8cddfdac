"""The whole pipeline on the real broker, database and S3 store, checked as a user would check it."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from imgpipe.contract.topics import EVENTS
from tests.support.helpers import (
    product_csv,
    read_csv,
    read_topic,
    upload,
    wait_finished,
)
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack
from tests.support.stored_state import stored_row_count, stored_state

pytestmark = pytest.mark.integration

ROWS = 20


@pytest.fixture(scope="module")
def stack(s3_stack: RunningStack) -> RunningStack:
    """This module runs on the stack whose storage is S3 (SeaweedFS), where services share no files."""
    return s3_stack


def _sizes(row: int) -> list[tuple[int, int]]:
    return [(160 + 8 * row, 120 + 4 * row), (90 + row, 200 - row)]


@pytest.fixture(scope="module")
def finished_request(
    stack: RunningStack, image_server: LocalHttpServer
) -> tuple[str, list[tuple[str, str, list[str]]], dict[str, tuple[int, int]], dict[str, object]]:
    """20 rows, 42 images: two per row, plus a 404 and an HTML page that is not an image."""
    rows: list[tuple[str, str, list[str]]] = []
    dimensions: dict[str, tuple[int, int]] = {}
    for row in range(ROWS):
        urls = []
        for index, (width, height) in enumerate(_sizes(row)):
            image_format = "PNG" if index else "JPEG"
            url = image_server.add(
                f"/e2e/{row}-{index}.{image_format.lower()}",
                Resource(photo_like_image(width, height, seed=row * 10 + index, image_format=image_format)),
            )
            dimensions[url] = (width, height)
            urls.append(url)
        rows.append((str(row + 1), f"Product {row + 1}", urls))
    rows[3][2].append(image_server.url("/e2e/missing.jpg"))
    rows[7][2].insert(1, image_server.add("/e2e/page.jpg", Resource(b"<html>hi</html>", "image/jpeg")))
    response = upload(stack.base_url, product_csv(rows))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    return request_id, rows, dimensions, wait_finished(stack.base_url, request_id)


def test_upload_answers_with_links(stack: RunningStack, image_server: LocalHttpServer) -> None:
    url = image_server.add("/links/a.jpg", Resource(photo_like_image(50, 40, seed=1)))
    response = upload(stack.base_url, product_csv([("1", "A", [url])]))
    body = response.json()
    assert response.status_code == 202
    assert body["status"] == "queued"
    assert body["status_url"] == f"{stack.base_url}/status/{body['request_id']}"
    assert body["download_url"] == f"{stack.base_url}/download/{body['request_id']}"
    assert wait_finished(stack.base_url, body["request_id"])["status"] == "completed"


def test_status_counts_rows_and_images(stack: RunningStack, finished_request: tuple) -> None:
    request_id, _, _, status = finished_request
    assert status["status"] == "completed_with_errors"
    assert status["rows"] == {"total": 20, "done": 18, "failed": 2}
    assert status["images"] == {"total": 42, "done": 40, "failed": 2}
    assert status["download_url"] == f"{stack.base_url}/download/{request_id}"
    assert status["completed_at"] is not None


def test_output_csv_has_every_cell(stack: RunningStack, finished_request: tuple) -> None:
    request_id, rows, _, _ = finished_request
    response = httpx.get(f"{stack.base_url}/download/{request_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = read_csv(response.text)
    assert table[0] == ["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"]
    assert len(table) == ROWS + 1
    image_prefix = f"{stack.base_url}/processed_images/outputs/"
    for (serial, name, urls), cells in zip(rows, table[1:], strict=True):
        assert cells[:3] == [serial, name, ",".join(urls)]
        outputs = cells[3].split(",")
        assert len(outputs) == len(urls)
        for url, output in zip(urls, outputs, strict=True):
            if url.endswith(("missing.jpg", "page.jpg")):
                assert output == ""
            else:
                assert output.startswith(image_prefix) and output.endswith(".jpg")


def test_every_output_image_is_a_jpeg_of_the_input_size(stack: RunningStack, finished_request: tuple) -> None:
    request_id, _, dimensions, _ = finished_request
    table = read_csv(httpx.get(f"{stack.base_url}/download/{request_id}").text)
    checked = 0
    for cells in table[1:]:
        for url, output in zip(cells[2].split(","), cells[3].split(","), strict=True):
            if not output:
                continue
            response = httpx.get(output)
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/jpeg"
            image = Image.open(io.BytesIO(response.content))
            assert image.format == "JPEG"
            assert image.size == dimensions[url]
            checked += 1
    assert checked == 40


def test_failed_images_carry_error_codes(stack: RunningStack, finished_request: tuple) -> None:
    request_id = finished_request[0]
    details = httpx.get(f"{stack.base_url}/status/{request_id}", params={"rows": "true"}).json()
    rows = details["row_details"]
    assert [row["row"] for row in rows] == list(range(ROWS))
    missing = rows[3]["images"][2]
    assert missing["output_url"] is None and missing["error"]["code"] == "http_error"
    page = rows[7]["images"][1]
    assert page["output_url"] is None and page["error"]["code"] == "not_an_image"
    assert rows[3]["status"] == "failed" and rows[0]["status"] == "done"


def test_mongodb_holds_exact_counts(stack: RunningStack, finished_request: tuple) -> None:
    request_id = finished_request[0]
    assert stored_row_count(stack.settings, request_id, ROWS) == ROWS
    state = stored_state(stack.settings, request_id)
    assert state is not None
    assert (state.rows_done, state.rows_failed) == (18, 2)
    assert (state.images_done, state.images_failed) == (40, 2)


async def test_completion_event_reaches_an_independent_consumer(
    stack: RunningStack, finished_request: tuple
) -> None:
    request_id = finished_request[0]
    events = await read_topic(
        stack.settings.kafka_bootstrap_servers, EVENTS, lambda e: e["request_id"] == request_id, 1
    )
    assert len(events) == 1
    event = events[0]
    assert event["type"] == "request.completed"
    assert event["status"] == "completed_with_errors"
    assert event["schema_version"] == 1
    assert event["counts"]["images_total"] == 42 and event["counts"]["images_failed"] == 2
    assert event["download_url"] == f"{stack.base_url}/download/{request_id}"
    assert event["quality"] == stack.settings.jpeg_quality


def _quantization_at(quality: int) -> dict[int, list[int]]:
    """The quantization tables libjpeg writes at `quality`: they identify the quality a JPEG has."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="JPEG", quality=quality)
    return Image.open(buffer).quantization  # type: ignore[attr-defined,no-any-return]


async def test_a_request_with_its_own_quality(stack: RunningStack, image_server: LocalHttpServer) -> None:
    assert stack.settings.jpeg_quality != 30
    urls = [
        image_server.add(
            f"/quality/{n}.{image_format.lower()}",
            Resource(photo_like_image(120, 90, seed=500 + n, image_format=image_format)),
        )
        for n, image_format in enumerate(("JPEG", "PNG"))
    ]
    response = upload(stack.base_url, product_csv([("1", "Low quality", urls)]), quality="30")
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]

    status = wait_finished(stack.base_url, request_id)

    assert status["status"] == "completed"
    assert status["quality"] == 30
    events = await read_topic(
        stack.settings.kafka_bootstrap_servers, EVENTS, lambda e: e["request_id"] == request_id, 1
    )
    assert events[0]["quality"] == 30
    async with httpx.AsyncClient(timeout=10) as client:
        details = (await client.get(f"{stack.base_url}/status/{request_id}?rows=true")).json()
        outputs = [
            (await client.get(image["output_url"])).content for image in details["row_details"][0]["images"]
        ]
    assert len(outputs) == 2
    for data in outputs:
        output = Image.open(io.BytesIO(data))
        output.load()
        assert output.size == (120, 90)
        assert output.quantization == _quantization_at(30)  # type: ignore[attr-defined]
