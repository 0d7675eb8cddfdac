"""The `imgpipe` command against the running stack: what a user scripting it would check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from bench.photos import photo_like_image
from devstack.paths import IMGPIPE_COMMAND
from tests.integration.conftest import API_KEYS
from tests.integration.helpers import product_csv, read_csv, wait_finished
from tests.integration.local_http_server import LocalHttpServer, Resource
from tests.integration.stack import RunningStack

pytestmark = pytest.mark.integration


def imgpipe(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IMGPIPE_COMMAND), *map(str, args)], capture_output=True, text=True, timeout=300
    )


def _catalogue(image_server: LocalHttpServer, name: str, broken_row: bool) -> str:
    rows = [
        (
            str(n + 1),
            f"{name} {n}",
            [image_server.add(f"/cli/{name}/{n}.jpg", Resource(photo_like_image(50, 40, n)))],
        )
        for n in range(3)
    ]
    if broken_row:
        rows.append(("4", f"{name} missing", [image_server.url("/cli/nothing-here.jpg")]))
    return product_csv(rows)


def test_submit_wait_saves_the_output_and_exits_0(
    stack: RunningStack, image_server: LocalHttpServer, tmp_path: Path
) -> None:
    source = tmp_path / "products.csv"
    source.write_text(_catalogue(image_server, "ok", broken_row=False))
    out = tmp_path / "result.csv"

    run = imgpipe("submit", source, "--wait", "--out", out, "--url", stack.base_url)

    assert run.returncode == 0, run.stderr
    request_id = run.stdout.strip()  # stdout carries only the request id
    assert "completed" in run.stderr and "3/3 images" in run.stderr
    header, *rows = read_csv(out.read_text())
    assert header == ["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert all(row[3].startswith(f"{stack.base_url}/processed_images/{request_id}/") for row in rows)
    assert out.read_bytes() == httpx.get(f"{stack.base_url}/download/{request_id}").content

    status = imgpipe("status", request_id, "--url", stack.base_url)
    assert status.returncode == 0
    assert json.loads(status.stdout)["images"] == {"total": 3, "done": 3, "failed": 0}
    again = tmp_path / "again.csv"
    assert imgpipe("download", request_id, "--out", again, "--url", stack.base_url).returncode == 0
    assert again.read_bytes() == out.read_bytes()


def test_completed_with_errors_exits_1(
    stack: RunningStack, image_server: LocalHttpServer, tmp_path: Path
) -> None:
    source = tmp_path / "products.csv"
    source.write_text(_catalogue(image_server, "partly", broken_row=True))

    run = imgpipe("submit", source, "--wait", "--url", stack.base_url)

    assert run.returncode == 1, run.stderr
    _header, *rows = read_csv((tmp_path / "products-output.csv").read_text())
    assert len(rows) == 4 and rows[3][3] == ""  # the missing image has no output URL
    assert imgpipe("status", run.stdout.strip(), "--url", stack.base_url).returncode == 1


def test_rejected_csv_exits_2_and_names_the_lines(stack: RunningStack, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(
        'S. No.,Product Name,Input Image Urls\n1,A,"https://example.com/a.jpg"\n2,,"ftp://x/b.jpg"\n'
    )

    run = imgpipe("submit", source, "--wait", "--url", stack.base_url)

    assert run.returncode == 2
    assert run.stdout == ""
    assert "csv_rejected" in run.stderr
    assert "line 3, Product Name" in run.stderr and "line 3, Input Image Urls" in run.stderr


def test_submit_without_wait_returns_the_id_at_once(
    stack: RunningStack, image_server: LocalHttpServer, tmp_path: Path
) -> None:
    source = tmp_path / "products.csv"
    source.write_text(_catalogue(image_server, "nowait", broken_row=False))

    run = imgpipe("submit", source, "--url", stack.base_url)

    assert run.returncode == 0, run.stderr
    assert wait_finished(stack.base_url, run.stdout.strip())["status"] == "completed"


def test_unfinished_download_and_unreachable_gateway_exit_2(stack: RunningStack, tmp_path: Path) -> None:
    missing = imgpipe("download", "6f1c1e36-1d62-4f3b-9d7e-5c3e1d2b7a90", "--url", stack.base_url)
    assert missing.returncode == 2 and "not_found" in missing.stderr
    unreachable = imgpipe("status", "6f1c1e36-1d62-4f3b-9d7e-5c3e1d2b7a90", "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr


def test_api_key_is_sent(keyed_gateway: str, image_server: LocalHttpServer, tmp_path: Path) -> None:
    source = tmp_path / "products.csv"
    source.write_text(_catalogue(image_server, "keyed", broken_row=False))

    refused = imgpipe("submit", source, "--url", keyed_gateway)
    assert refused.returncode == 2 and "unauthorized" in refused.stderr
    run = imgpipe("submit", source, "--wait", "--url", keyed_gateway, "--api-key", API_KEYS[0])
    assert run.returncode == 0, run.stderr
