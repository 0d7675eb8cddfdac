"""Where the file backend keeps outputs, and the URLs they are served at, old layouts included.

Outputs are stored by period of their request's retention (imgpipe/storage/output_periods.py), fanned
out over 256 directories by their content name's first two digits, so that no directory of the
file backend nears a filesystem's limit on names. Outputs stored before periods (fanned out, as
release 8261b3e stored them) are served at the URLs their CSVs were given. A missing output of a
period old enough to have expired answers 410; of a younger one, 404.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

import httpx
import pytest

from imgpipe.state.retention import DEFAULT_RETENTION_S
from imgpipe.storage.output_periods import OUTPUTS_PREFIX
from imgpipe.storage.request_paths import CONTENT_IMAGES_PREFIX
from tests.support.helpers import product_csv, read_csv, stored_key, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration


def _storage(stack: RunningStack) -> Path:
    return Path(stack.settings.storage_url.removeprefix("file://"))


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


def test_an_output_is_stored_and_served_under_its_period_and_fan_out_directory(
    stack: RunningStack, output_urls: list[str]
) -> None:
    now_period = math.floor(time.time() / DEFAULT_RETENTION_S)
    for url in output_urls:
        retention, period, fan_out, file_name = url.split("/")[-4:]
        assert fan_out == file_name[:2]
        # The stack's default retention, 30 days; the period the row was done in (this one, or
        # the one before if it just turned).
        assert retention == str(round(DEFAULT_RETENTION_S)) and int(period) in (now_period, now_period - 1)
        assert url.startswith(f"{stack.base_url}/processed_images/{OUTPUTS_PREFIX}/")
        stored = _storage(stack) / stored_key(url)
        assert httpx.get(url, timeout=30).content == stored.read_bytes()


def test_outputs_stored_before_periods_are_served_at_their_old_urls(
    stack: RunningStack, output_urls: list[str]
) -> None:
    stored = _storage(stack) / stored_key(output_urls[0])
    file_name = stored.name
    legacy = _storage(stack) / CONTENT_IMAGES_PREFIX
    # An output of the layout before periods, under a name of its own (the same bytes stand in for it).
    fanned_name = f"{'e' * 64}.jpg"
    (legacy / "ee").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stored, legacy / "ee" / fanned_name)
    base = f"{stack.base_url}/processed_images/{CONTENT_IMAGES_PREFIX}"
    assert httpx.get(f"{base}/ee/{fanned_name}", timeout=30).content == stored.read_bytes()
    # A name is served only from its own directory.
    wrong_directory = "00" if file_name[:2] != "00" else "01"
    assert httpx.get(f"{base}/{wrong_directory}/{file_name}").status_code == 404


def test_a_missing_output_of_an_expired_period_is_gone_and_of_a_live_one_unknown(stack: RunningStack) -> None:
    name = f"{'a' * 64}.jpg"
    retention = round(DEFAULT_RETENTION_S)
    now_period = math.floor(time.time() / retention)
    old = httpx.get(
        f"{stack.base_url}/processed_images/{OUTPUTS_PREFIX}/{retention}/{now_period - 2}/aa/{name}"
    )
    assert old.status_code == 410 and old.json()["error"] == "expired"
    live = httpx.get(f"{stack.base_url}/processed_images/{OUTPUTS_PREFIX}/{retention}/{now_period}/aa/{name}")
    assert live.status_code == 404 and live.json()["error"] == "not_found"
