"""Images and output CSVs served from S3 storage (SeaweedFS) as browsers and CDNs expect: the
stored bytes, ETag and If-None-Match, Range; and services that share no filesystem."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from PIL import Image

from devstack.paths import IMGPIPE_COMMAND
from devstack.sync_run import run_sync
from imgpipe.storage.base import read_all
from imgpipe.storage.factory import open_storage
from imgpipe.storage.request_paths import output_csv_key
from tests.support.helpers import product_csv, read_csv, stored_key, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import TEST_BUCKET, RunningStack

pytestmark = pytest.mark.integration

ROWS = 12


@pytest.fixture(scope="module")
def finished(s3_stack: RunningStack, image_server: LocalHttpServer) -> tuple[str, list[list[str]]]:
    """A finished request of 12 rows on the S3 stack, and its output CSV as downloaded."""
    rows = [
        (
            str(row + 1),
            f"Serving {row + 1}",
            [
                image_server.add(
                    f"/serving/{row}.jpg", Resource(photo_like_image(200 + row, 150, seed=row), "image/jpeg")
                )
            ],
        )
        for row in range(ROWS)
    ]
    response = upload(s3_stack.base_url, product_csv(rows))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    assert wait_finished(s3_stack.base_url, request_id)["status"] == "completed"
    table = read_csv(httpx.get(f"{s3_stack.base_url}/download/{request_id}", timeout=30).text)
    return request_id, table


def _first_image_url(table: list[list[str]]) -> str:
    return table[1][3]


def test_the_storage_is_the_s3_bucket(s3_stack: RunningStack, finished: tuple[str, list[list[str]]]) -> None:
    """The objects are in SeaweedFS's bucket, read back through S3: the images the CSV names and
    the output CSV itself, byte for byte what the gateway serves."""
    request_id, table = finished
    assert s3_stack.settings.storage_url == f"s3://{TEST_BUCKET}"
    storage = open_storage(s3_stack.settings.storage, s3_stack.settings.base_url)
    for cells in table[1:]:
        stored = run_sync(read_all(storage, stored_key(cells[3])))
        assert httpx.get(cells[3], timeout=30).content == stored
    csv_bytes = run_sync(read_all(storage, output_csv_key(request_id)))
    assert httpx.get(f"{s3_stack.base_url}/download/{request_id}", timeout=30).content == csv_bytes


def test_an_image_answers_with_its_validators(finished: tuple[str, list[list[str]]]) -> None:
    response = httpx.get(_first_image_url(finished[1]), timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["etag"].startswith('"') and response.headers["last-modified"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG" and image.size == (200, 150)


def test_if_none_match_gets_304_without_a_body(finished: tuple[str, list[list[str]]]) -> None:
    url = _first_image_url(finished[1])
    etag = httpx.get(url, timeout=30).headers["etag"]
    cached = httpx.get(url, headers={"If-None-Match": etag}, timeout=30)
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == etag
    assert httpx.get(url, headers={"If-None-Match": '"another"'}, timeout=30).status_code == 200


@pytest.mark.parametrize(
    ("header", "part"),
    [("bytes=0-99", slice(0, 100)), ("bytes=100-", slice(100, None)), ("bytes=-50", slice(-50, None))],
)
def test_a_range_gets_206_with_exactly_those_bytes(
    finished: tuple[str, list[list[str]]], header: str, part: slice
) -> None:
    url = _first_image_url(finished[1])
    whole = httpx.get(url, timeout=30).content
    response = httpx.get(url, headers={"Range": header}, timeout=30)
    assert response.status_code == 206
    assert response.content == whole[part]
    start = part.start % len(whole) if part.start is not None else 0
    assert (
        response.headers["content-range"]
        == f"bytes {start}-{len(whole) - 1 if part.stop is None else part.stop - 1}/{len(whole)}"
    )


def test_a_range_past_the_end_gets_416(finished: tuple[str, list[list[str]]]) -> None:
    url = _first_image_url(finished[1])
    size = len(httpx.get(url, timeout=30).content)
    response = httpx.get(url, headers={"Range": f"bytes={size}-"}, timeout=30)
    assert response.status_code == 416
    assert response.json()["error"] == "range_not_satisfiable"
    assert response.headers["content-range"] == f"bytes */{size}"


def test_the_download_is_an_attachment_with_validators(
    s3_stack: RunningStack, finished: tuple[str, list[list[str]]]
) -> None:
    request_id, table = finished
    response = httpx.get(f"{s3_stack.base_url}/download/{request_id}", timeout=30)
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="imgpipe-{request_id}.csv"'
    assert len(table) == ROWS + 1 and [cells[0] for cells in table[1:]] == [
        str(n) for n in range(1, ROWS + 1)
    ]
    again = httpx.get(
        f"{s3_stack.base_url}/download/{request_id}", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


def _cwd(pid: int) -> Path:
    return Path(os.readlink(f"/proc/{pid}/cwd"))


def test_services_share_no_filesystem(s3_stack: RunningStack, finished: tuple[str, list[list[str]]]) -> None:
    """Each service runs in a directory of its own, and after a whole request (upload, status and
    row pages read from an offset, download, every image) nothing at all is written under any of
    them: all they store is in S3, and their logs go to the stack's log directory."""
    request_id, table = finished
    names = ["gateway", "processor-1", "processor-2", "aggregator"]
    pids = {name: s3_stack.paths.pid_file(name).read_text().split()[0] for name in names}
    directories = {name: _cwd(int(pid)) for name, pid in pids.items()}
    assert len(set(directories.values())) == len(names), directories
    for name, directory in directories.items():
        assert directory == s3_stack.paths.service_dirs / name
    page = httpx.get(
        f"{s3_stack.base_url}/status/{request_id}",
        params={"rows": "true", "offset": 5, "limit": 3},
        timeout=30,
    ).json()
    assert [row["serial_number"] for row in page["row_details"]] == ["6", "7", "8"]
    for cells in table[1:]:
        assert httpx.get(cells[3], timeout=30).status_code == 200
    written = {
        name: sorted(str(path) for path in directory.rglob("*")) for name, directory in directories.items()
    }
    assert written == {name: [] for name in names}
    assert not list(s3_stack.paths.root.rglob("processed_images"))


@pytest.mark.parametrize(
    ("service", "settings", "line"),
    [
        (
            "gateway",
            {"IMGPIPE_STORAGE_URL": "gs://images"},
            "imgpipe gateway: invalid settings: IMGPIPE_STORAGE_URL: Value error, unknown storage scheme "
            "'gs' in 'gs://images': use file:// or s3://",
        ),
        (
            "processor",
            {"IMGPIPE_STORAGE_URL": "s3://no-such-bucket"},
            "imgpipe processor: cannot start: S3 bucket 'no-such-bucket' does not exist",
        ),
        (
            "aggregator",
            # The stack's SeaweedFS and its key id (in the stack's environment), a wrong secret.
            {"IMGPIPE_S3_SECRET_ACCESS_KEY": "not-the-secret"},
            f"imgpipe aggregator: cannot start: S3 refused the credentials for bucket '{TEST_BUCKET}' "
            "(check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
        ),
    ],
)
def test_bad_storage_settings_stop_a_service_at_start_with_one_line(
    s3_stack: RunningStack, service: str, settings: dict[str, str], line: str
) -> None:
    result = subprocess.run(
        [str(IMGPIPE_COMMAND), service],
        env={**s3_stack.environment, **settings},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr.splitlines()) == (1, [line])
