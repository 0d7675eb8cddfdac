"""The web page in a real browser: headless Debian Chromium driven by Playwright, against the stack.

Each test leaves a screenshot in test-artifacts/, for a person to look at after a CI run.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect, sync_playwright

from devstack.paths import ROOT
from tests.integration.conftest import API_KEYS
from tests.support.helpers import product_csv, read_csv, upload
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

ARTIFACTS = ROOT / "test-artifacts"
FINISH_TIMEOUT_MS = 180_000
# Playwright's 5 s default is short for a loaded CI machine; a change on the page may take longer.
expect.set_options(timeout=20_000)
TIMES = "\N{MULTIPLICATION SIGN}"  # as the page writes a size


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is missing: `make install` runs infra/install-prerequisites.sh")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


def _note_blocked(console_text: str, script_errors: list[str]) -> None:
    if "Content Security Policy" in console_text:
        script_errors.append(console_text)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    # A script error, or anything the page's Content-Security-Policy blocked, fails the test.
    # (Other console errors are expected: a missing input image logs its 404.)
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("console", lambda message: _note_blocked(message.text, script_errors))
    yield page
    screenshot(page, request.node.name)  # how the page was left, failed or passed
    context.close()
    assert script_errors == []


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True, animations="disabled")


def _kilobytes(size: int) -> str:
    return f"{size / 1024:.1f} KB"  # as the page writes sizes under a megabyte


def _choose_csv(page: Page, name: str, text: str) -> None:
    payload: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    page.set_input_files("#csv-file", files=[payload])


def _drop_csv(page: Page, name: str, text: str) -> None:
    """Drop a file on the drop zone as a person dragging it from their desktop would."""
    transfer = page.evaluate_handle(
        """([name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, { type: "text/csv" }));
            return transfer;
        }""",
        [name, text],
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})


def _output_image_size(page: Page, row: int, image: int) -> dict[str, Any]:
    """The decoded pixel size of an output thumbnail, once the browser has loaded it."""
    selector = f"#rows tr[data-row='{row}'] .image-pair >> nth={image}"
    output = page.locator(selector).locator("img[alt='output image']")
    expect(output).to_be_visible()
    output.evaluate("img => img.decode()")
    size: dict[str, Any] = output.evaluate("img => ({width: img.naturalWidth, height: img.naturalHeight})")
    return size


def test_upload_follow_progress_see_thumbnails_and_download(
    s3_stack: RunningStack, image_server: LocalHttpServer, page: Page
) -> None:
    photos = {n: photo_like_image(320, 240, 600 + n) for n in range(3)}
    # The source server holds the photos back, so the test sees each stage on the page: rows 1 and 3
    # (photos 0 and 1) until the rows are shown pending, row 2 (photo 2) until they have finished.
    first_rows, second_row = threading.Event(), threading.Event()
    gates = {0: first_rows, 1: first_rows, 2: second_row}
    urls = {
        n: image_server.add(f"/web/photo-{n}.jpg", Resource(body, "image/jpeg", gate=gates[n]))
        for n, body in photos.items()
    }
    missing = image_server.url("/web/missing.jpg")
    catalogue = product_csv(
        [
            ("1", "Linen shirt", [urls[0], urls[1]]),
            ("2", "Canvas tote", [urls[2]]),
            ("3", "Wool scarf", [urls[0], missing]),
        ]
    )

    page.goto(f"{s3_stack.base_url}/")
    expect(page.locator("#upload-button")).to_be_disabled()
    _choose_csv(page, "products.csv", catalogue)
    expect(page.locator("#chosen-file")).to_contain_text("products.csv")
    page.click("#upload-button")
    expect(page.locator("#upload-form")).to_be_hidden()

    rows = page.locator("#rows tbody tr")
    progress = page.locator("#progress-text")
    try:
        # Before any image is done: every row with its input thumbnails, waiting.
        expect(rows).to_have_count(3)
        expect(rows.locator("td:nth-child(3)")).to_have_text(["pending"] * 3)
        expect(rows.nth(0).locator("img[alt='input image']")).to_have_count(2)
        first_rows.set()
        # While row 2 waits, the rows that are done already show their thumbnails.
        expect(rows.nth(0).locator("td").nth(2)).to_have_text("completed", timeout=FINISH_TIMEOUT_MS)
        expect(rows.nth(2).locator("td").nth(2)).to_have_text("failed", timeout=FINISH_TIMEOUT_MS)
        expect(rows.nth(1).locator("td").nth(2)).to_have_text("pending")
        expect(rows.nth(1)).to_contain_text("waiting…")
        expect(progress).to_contain_text("processing: 4 of 5 images, 1 failed")
        expect(page.locator("#progress-bar")).to_have_attribute("aria-valuenow", "80")
        expect(page.locator("#finished-actions")).to_be_hidden()
    finally:
        first_rows.set()
        second_row.set()

    expect(progress).to_contain_text("completed with errors", timeout=FINISH_TIMEOUT_MS)
    expect(progress).to_contain_text("5 of 5 images, 1 failed")
    expect(progress).to_contain_text("3 of 3 rows")
    expect(page.locator("#progress-bar")).to_have_attribute("aria-valuenow", "100")
    request_id = page.locator("#request-id").inner_text()
    screenshot(page, "web-page-finished")

    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Linen shirt")
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("completed")
    expect(rows.nth(2).locator("td").nth(2)).to_have_text("failed")
    expect(rows.nth(2).locator(".image-error")).to_contain_text("http_error")
    expect(rows.nth(2).locator(".thumbnail-missing")).to_have_text("no image")  # the 404 input

    # Thumbnails: the output is the same size in pixels as the input, and the sizes written beside
    # it are those of the source file and of the file imgpipe stores.
    status = httpx.get(f"{s3_stack.base_url}/status/{request_id}?rows=true").json()
    # Photo 0 is in rows 1 and 3: fetched once, and the other row's output reuses it.
    assert sorted(status["row_details"][row]["images"][0]["origin"] for row in (0, 2)) == [
        "fetched",
        "reused",
    ]
    for row, photo_numbers in ((0, [0, 1]), (1, [2]), (2, [0])):
        for image, photo in enumerate(photo_numbers):
            assert _output_image_size(page, row, image) == {"width": 320, "height": 240}
            details = status["row_details"][row]["images"][image]
            stored = httpx.get(details["output_url"]).content
            sizes = page.locator(f"#rows tr[data-row='{row}'] .image-sizes").nth(image)
            pixels = "320\N{MULTIPLICATION SIGN}240"
            expect(sizes).to_contain_text(
                f"{pixels} · {_kilobytes(len(photos[photo]))} → {_kilobytes(len(stored))}"
            )
            # Whether the output was fetched or reused (row 2's photo is row 0's first).
            expect(sizes).to_contain_text(f"smaller) · {details['origin']}")

    with page.expect_download() as download_info:
        page.click("#download-button")
    download = download_info.value
    assert download.suggested_filename == f"imgpipe-{request_id}.csv"
    saved = Path(download.path()).read_bytes()
    assert saved == httpx.get(f"{s3_stack.base_url}/download/{request_id}").content
    header, *cells = read_csv(saved.decode())
    assert header[-1] == "Output Image Urls"
    assert [row[1] for row in cells] == ["Linen shirt", "Canvas tote", "Wool scarf"]
    assert len(cells[0][3].split(",")) == 2

    page.click("#again-button")
    expect(page.locator("#upload-form")).to_be_visible()
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.locator("#upload-button")).to_be_disabled()


def test_a_request_larger_than_a_page_is_shown_one_page_at_a_time(
    s3_stack: RunningStack, image_server: LocalHttpServer, page: Page
) -> None:
    # 230 rows: two full pages of 100 and a last one of 30. The source server holds the image back
    # until the second page is on screen, so the test sees that page's rows finish while it is shown.
    release = threading.Event()
    photo = image_server.add(
        "/web/paged.jpg", Resource(photo_like_image(40, 30, 9), "image/jpeg", gate=release)
    )
    catalogue = product_csv([(str(n), f"Product {n}", [photo]) for n in range(1, 231)])
    page.goto(f"{s3_stack.base_url}/")
    _choose_csv(page, "catalogue.csv", catalogue)
    page.click("#upload-button")

    rows = page.locator("#rows tbody tr")
    label = page.locator("#page-label")
    previous, following = page.locator("#previous-page"), page.locator("#next-page")
    statuses = rows.locator("td:nth-child(3)")
    try:
        expect(label).to_have_text("rows 1\N{EN DASH}100 of 230")
        expect(rows).to_have_count(100)
        expect(rows.first.locator("td").nth(0)).to_have_text("1")
        expect(previous).to_be_disabled()

        following.click()
        expect(label).to_have_text("rows 101\N{EN DASH}200 of 230")
        expect(rows).to_have_count(100)
        expect(rows.first.locator("td").nth(0)).to_have_text("101")
        expect(rows.first.locator("td").nth(1)).to_have_text("Product 101")
        expect(rows.last.locator("td").nth(1)).to_have_text("Product 200")
        expect(statuses).to_have_text(["pending"] * 100)
        expect(previous).to_be_enabled()
        # While it waits: what it shares the processors with, and its rows the scheduler holds back
        # (230 rows, at most IMGPIPE_SCHEDULED_ROWS of them published).
        expect(page.locator("#queue-text")).to_contain_text("rows ahead")
        expect(page.locator("#queue-text")).to_contain_text("rows not started")
        release.set()
        # The page on screen follows its rows as they finish, as the first page does.
        expect(statuses).to_have_text(["completed"] * 100, timeout=FINISH_TIMEOUT_MS)
    finally:
        release.set()
    expect(page.locator("#progress-text")).to_contain_text(
        "completed: 230 of 230 images", timeout=FINISH_TIMEOUT_MS
    )
    expect(page.locator("#queue-text")).to_be_hidden()
    # Finished: how long it is kept (IMGPIPE_RETENTION_DAYS, 30 days here).
    expect(page.locator("#expiry-text")).to_contain_text("Kept until")
    screenshot(page, "web-page-second-page")

    # Read down to the page's last row: the pager is still in view, and the next page starts at its top.
    rows.last.scroll_into_view_if_needed()
    expect(following).to_be_in_viewport()
    following.click()
    expect(label).to_have_text("rows 201\N{EN DASH}230 of 230")
    expect(rows).to_have_count(30)
    expect(rows.first).to_be_in_viewport()
    expect(rows.locator("td:nth-child(2)")).to_have_text([f"Product {n}" for n in range(201, 231)])
    expect(following).to_be_disabled()

    previous.click()
    previous.click()
    expect(label).to_have_text("rows 1\N{EN DASH}100 of 230")
    expect(rows.locator("td:nth-child(1)")).to_have_text([str(n) for n in range(1, 101)])
    expect(statuses).to_have_text(["completed"] * 100)
    expect(previous).to_be_disabled()
    expect(rows.first.locator("img[alt='output image']")).to_be_visible()


def test_a_dropped_csv_that_is_rejected_shows_its_problems_by_line(
    stack: RunningStack, image_server: LocalHttpServer, page: Page
) -> None:
    good = image_server.add("/web/good.jpg", Resource(photo_like_image(40, 30, 7), "image/jpeg"))
    catalogue = product_csv(
        [("1", "Fine", [good]), ("2", "", [good]), ("3", "Odd link", ["ftp://example/x.jpg"])]
    )
    expected = upload(stack.base_url, catalogue).json()["problems"]
    assert [problem["line"] for problem in expected] == [3, 4]

    page.goto(f"{stack.base_url}/")
    _drop_csv(page, "broken.csv", catalogue)
    expect(page.locator("#chosen-file")).to_contain_text("broken.csv")
    page.click("#upload-button")

    expect(page.locator("#problem-title")).to_have_text("broken.csv was rejected")
    expect(page.locator("#problem-list li")).to_have_text(
        [f"Line {p['line']}, {p['column']}: {p['message']}" for p in expected]
    )
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.locator("#upload-button")).to_be_enabled()  # fix the file and try again


def test_a_gateway_with_api_keys_needs_the_key_on_the_page(
    keyed_gateway: str, image_server: LocalHttpServer, page: Page
) -> None:
    photo = image_server.add("/web/keyed.jpg", Resource(photo_like_image(40, 30, 8), "image/jpeg"))
    catalogue = product_csv([("1", "Keyed", [photo])])
    page.goto(f"{keyed_gateway}/")
    _choose_csv(page, "keyed.csv", catalogue)

    page.click("#upload-button")
    expect(page.locator("#problem-title")).to_contain_text("a valid API key is required")

    page.click("#api-key-box summary")
    page.fill("#api-key", API_KEYS[0])
    page.click("#upload-button")
    expect(page.locator("#problem")).to_be_hidden()
    expect(page.locator("#progress-text")).to_contain_text(
        "completed: 1 of 1 images", timeout=FINISH_TIMEOUT_MS
    )
    expect(page.locator("#rows tbody tr")).to_have_count(1)
    with page.expect_download() as download_info:
        page.click("#download-button")
    _header, row = read_csv(Path(download_info.value.path()).read_text())
    assert row[:2] == ["1", "Keyed"] and "/processed_images/" in row[3]


def test_presets_are_offered_as_checkboxes_and_their_variants_are_linked(
    stack: RunningStack, image_server: LocalHttpServer, page: Page
) -> None:
    url = image_server.add("/web/preset-photo.jpg", Resource(photo_like_image(800, 600, 650), "image/jpeg"))
    # The gateway's presets (the default IMGPIPE_PRESETS: thumb, then large), each described.
    described = [
        f"{preset['name']}: {preset['format'].upper()} within {preset['width']}{TIMES}{preset['height']}, "
        f"quality {preset['quality']}"
        for preset in httpx.get(f"{stack.base_url}/presets", timeout=10).json()
    ]
    page.goto(f"{stack.base_url}/")
    options = page.locator("#preset-options label")
    expect(options).to_have_text(described, use_inner_text=True)
    options.nth(0).locator("input").check()
    _choose_csv(page, "presets.csv", product_csv([("1", "Oak chair", [url])]))
    page.click("#upload-button")

    expect(page.locator("#progress-text")).to_contain_text("completed", timeout=FINISH_TIMEOUT_MS)
    expect(page.locator("#presets-text")).to_have_text(f"Also making: {described[0]}")
    variant = page.locator("#rows .variant")
    expect(variant).to_have_count(1)
    expect(variant).to_contain_text(f"thumb (WEBP 400{TIMES}300")
    served = httpx.get(variant.get_attribute("href") or "", timeout=30)
    assert served.headers["content-type"] == "image/webp"
