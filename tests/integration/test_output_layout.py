"""Where the file backend keeps outputs, and the URLs they are served at, old layout included.

Outputs are fanned out over 256 directories by their content name's first two digits, so that no
directory of the file backend nears a filesystem's limit on names; outputs stored flat, before
the fan-out, are served at the URLs their CSVs were given.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from bench.photos import photo_like_image
from imgpipe.request_paths import CONTENT_IMAGES_PREFIX
from tests.support.helpers import product_csv, read_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration


def _storage_images(stack: RunningStack) -> Path:
    return Path(stack.settings.storage_url.removeprefix("file://")) / CONTENT_IMAGES_PREFIX


@pytest.fixture(scope="module")
def output_urls(stack: RunningStack, image_server: LocalHttpServer) -> list[str]:
    """The output URLs of a finished three-row request on the file-backend stack."""
    rows = [
        (
            str(row + 1),
            f"Layout {row + 1}",
            [
                image_server.add(
                    f"/layout/{row}.jpg",
                    Resource(photo_like_image(90 + row, 70, seed=700 + row), "image/jpeg"),
                )
            ],
        )
        for row in range(3)
    ]
    response = upload(stack.base_url, product_csv(rows))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    assert wait_finished(stack.base_url, request_id)["status"] == "completed"
    table = read_csv(httpx.get(f"{stack.base_url}/download/{request_id}", timeout=30).text)
    return [cells[3] for cells in table[1:]]


def test_an_output_is_stored_and_served_under_its_fan_out_directory(
    stack: RunningStack, output_urls: list[str]
) -> None:
    for url in output_urls:
        fan_out, file_name = url.split("/")[-2:]
        assert url == f"{stack.base_url}/processed_images/images/{file_name[:2]}/{file_name}"
        stored = _storage_images(stack) / fan_out / file_name
        assert httpx.get(url, timeout=30).content == stored.read_bytes()
        assert not (_storage_images(stack) / file_name).exists()


def test_an_output_stored_flat_before_the_fan_out_is_served_at_its_old_url(
    stack: RunningStack, output_urls: list[str]
) -> None:
    fan_out, file_name = output_urls[0].split("/")[-2:]
    # An output of the old layout, under a name of its own (the same bytes stand in for it).
    old_name = f"{'f' * 64}.jpg" if file_name[:2] != "ff" else f"{'e' * 64}.jpg"
    shutil.copyfile(_storage_images(stack) / fan_out / file_name, _storage_images(stack) / old_name)
    old_url = f"{stack.base_url}/processed_images/images/{old_name}"
    assert httpx.get(old_url, timeout=30).content == (_storage_images(stack) / old_name).read_bytes()
    # The new layout has no object by that name, and a name is served only from its own directory.
    assert httpx.get(f"{stack.base_url}/processed_images/images/{old_name[:2]}/{old_name}").status_code == 404
    wrong_directory = "00" if fan_out != "00" else "01"
    assert (
        httpx.get(f"{stack.base_url}/processed_images/images/{wrong_directory}/{file_name}").status_code
        == 404
    )
