"""The `imgpipe` command against the running stack: what a user scripting it would check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from devstack.paths import IMGPIPE_COMMAND
from tests.integration.conftest import API_KEYS
from tests.support.helpers import product_csv, read_csv, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

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
    assert all(row[3].startswith(f"{stack.base_url}/processed_images/outputs/") for row in rows)
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


def test_status_rows_prints_a_page_and_the_command_for_the_next(
    stack: RunningStack, image_server: LocalHttpServer, tmp_path: Path
) -> None:
    source = tmp_path / "products.csv"
    source.write_text(_catalogue(image_server, "paged", broken_row=True))
    request_id = imgpipe("submit", source, "--url", stack.base_url).stdout.strip()
    wait_finished(stack.base_url, request_id)
    _header, *output_rows = read_csv(httpx.get(f"{stack.base_url}/download/{request_id}").text)
    output_urls = [row[3] for row in output_rows]

    first = imgpipe("status", request_id, "--rows", "--limit", "2", "--url", stack.base_url)

    assert first.returncode == 1, first.stderr  # completed with errors, as plain `status` says
    assert read_csv(first.stdout) == [
        ["Row", "S. No.", "Product Name", "Status", "Outputs"],
        ["1", "1", "paged 0", "done", output_urls[0]],
        ["2", "2", "paged 1", "done", output_urls[1]],
    ]
    assert "completed_with_errors: 3/4 rows done (1 failed)" in first.stderr
    assert "rows 1 to 2 of 4; next page: " in first.stderr
    next_command = first.stderr.split("next page: ")[1].strip()
    assert next_command == f"imgpipe status {request_id} --rows --offset 2 --limit 2 --url {stack.base_url}"

    second = imgpipe(*next_command.split()[1:])

    assert second.returncode == 1, second.stderr
    assert read_csv(second.stdout)[1:] == [
        ["3", "3", "paged 2", "done", output_urls[2]],
        ["4", "4", "paged missing", "failed", "http_error"],
    ]
    assert "rows 3 to 4 of 4 (the last page)" in second.stderr

    past_the_end = imgpipe("status", request_id, "--offset", "10", "--url", stack.base_url)
    assert read_csv(past_the_end.stdout) == [["Row", "S. No.", "Product Name", "Status", "Outputs"]]
    assert "no rows at offset 10 (of 4)" in past_the_end.stderr
    too_long = imgpipe("status", request_id, "--rows", "--limit", "5001", "--url", stack.base_url)
    assert too_long.returncode == 2 and "invalid_page" in too_long.stderr and too_long.stdout == ""


def test_submit_with_presets_saves_their_columns_and_an_unknown_one_exits_2(
    stack: RunningStack, image_server: LocalHttpServer, tmp_path: Path
) -> None:
    source = tmp_path / "products.csv"
    source.write_text(_catalogue(image_server, "presets", broken_row=False))
    out = tmp_path / "result.csv"

    run = imgpipe(
        "submit", source, "--preset", "thumb", "--preset", "large", "--out", out, "--url", stack.base_url
    )
    unknown = imgpipe("submit", source, "--preset", "poster", "--url", stack.base_url)

    assert run.returncode == 0, run.stderr
    header, *rows = read_csv(out.read_text())
    assert header[3:] == ["Output Image Urls", "Output Image Urls (thumb)", "Output Image Urls (large)"]
    assert all(row[4].endswith(".webp") and row[5].endswith(".avif") for row in rows)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "unknown_preset" in unknown.stderr and "thumb" in unknown.stderr


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
