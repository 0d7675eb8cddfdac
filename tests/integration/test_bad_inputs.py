"""Bad inputs of every kind get a precise answer: the exact status, the exact error code, JSON of
the documented shape, and never a stack trace. Four tables (CSV content, HTTP requests, request
ids and paths, image sources) and a final check that the gateway is still healthy afterwards."""

from __future__ import annotations

import http.client
import io
import socket
import struct
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import httpx
import pillow_heif
import pytest
from PIL import Image

from devstack.sync_run import run_sync
from imgpipe.storage.factory import open_storage
from imgpipe.storage.request_paths import input_spool_key, output_csv_key
from tests.support.error_answers import LEAKS, Answer, answer_of, assert_error
from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

HEADER = "S. No.,Product Name,Input Image Urls"
SERIAL, PRODUCT, URLS = "S. No.", "Product Name", "Input Image Urls"
MAX_UPLOAD_BYTES = 2_000_000  # IMGPIPE_MAX_UPLOAD_BYTES of the test stack


def raw_exchange(base_url: str, request: bytes) -> Answer:
    """Send bytes exactly as given (no client normalizes or completes them), read one response."""
    url = httpx.URL(base_url)
    with socket.create_connection((url.host, url.port or 80), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response.status, response.read())


def healthy(base_url: str) -> bool:
    return httpx.get(f"{base_url}/healthz", timeout=10).status_code == 200


# --------------------------------------------------------------------------------------------
# A. CSV content


def csv_of(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows, ""]).encode()


def one_url(url: str) -> bytes:
    return csv_of(f'1,Widget,"{url}"')


@dataclass(frozen=True)
class CsvCase:
    id: str
    content: bytes
    line: int | None = None
    column: str | None = None
    problems: int | None = None  # the exact number of problems, where it matters


@dataclass(frozen=True)
class TooLargeCase:
    id: str
    content: bytes
    error: str


CSV_CASES = [
    CsvCase("empty-file", b""),
    CsvCase("only-utf8-bom", b"\xef\xbb\xbf"),
    CsvCase("only-blank-lines", b"\n\n  \n"),
    CsvCase("header-only", csv_of(), line=1),
    CsvCase("header-then-blank-lines", csv_of("", "", ""), line=1),
    CsvCase("header-with-bom-only", b"\xef\xbb\xbf" + csv_of(), line=1),
    CsvCase(
        "missing-serial-column", b"Product Name,Input Image Urls\nA,http://example.com/a.jpg\n", 1, SERIAL
    ),
    CsvCase("missing-product-column", b"S. No.,Input Image Urls\n1,http://example.com/a.jpg\n", 1, PRODUCT),
    CsvCase("missing-urls-column", b"S. No.,Product Name\n1,A\n", 1, URLS),
    CsvCase("header-of-random-words", b"apple,banana,cherry\n1,A,http://example.com/a.jpg\n", 1, SERIAL, 3),
    CsvCase("header-after-data-row", b"1,A,http://example.com/a.jpg\n" + csv_of(), 1, SERIAL, 3),
    CsvCase("png-uploaded-as-csv", photo_like_image(16, 16, seed=7, image_format="PNG")),
    CsvCase("latin-1-product-name", HEADER.encode() + b'\n1,Caf\xe9,"http://example.com/a.jpg"\n'),
    CsvCase("utf-16-with-bom", (HEADER + "\n1,A,http://example.com/a.jpg\n").encode("utf-16")),
    CsvCase("nul-byte-in-product-name", csv_of('1,Wid\x00get,"http://example.com/a.jpg"'), 2, PRODUCT),
    CsvCase("row-without-urls", csv_of("1,Widget,"), 2, URLS),
    CsvCase("row-with-two-cells", csv_of("1,Widget"), 2, URLS),
    CsvCase("url-cell-only-commas", csv_of('1,Widget,",,,"'), 2, URLS),
    CsvCase("ftp-url", one_url("ftp://example.com/a.jpg"), 2, URLS),
    CsvCase("relative-url", one_url("/img/a.jpg"), 2, URLS),
    CsvCase("javascript-url", one_url("javascript:alert(1)"), 2, URLS),
    CsvCase("file-url", one_url("file:///etc/passwd"), 2, URLS),
    CsvCase("data-url", one_url("data:image/png;base64,iVBORw0KGgo="), 2, URLS),
    CsvCase("url-with-nul-byte", one_url("http://exa\x00mple.com/a.jpg"), 2, URLS),
    CsvCase("url-with-space", one_url("http://example.com/a b.jpg"), 2, URLS),
    CsvCase("url-without-host", one_url("http://"), 2, URLS),
    CsvCase("url-unclosed-ipv6-bracket", one_url("http://[::1"), 2, URLS),
    CsvCase("url-scheme-only-host", one_url("https:///a.jpg"), 2, URLS),
    CsvCase("bad-second-url-of-row", one_url("http://example.com/a.jpg,gopher://x/y"), 2, URLS),
    CsvCase(
        "duplicate-serial-number",
        csv_of('1,A,"http://example.com/a.jpg"', '1,B,"http://example.com/b.jpg"'),
        3,
        SERIAL,
        1,
    ),
    CsvCase(
        "duplicate-serial-leading-zero",
        csv_of("7,A,http://e.com/a.jpg", "007,B,http://e.com/b.jpg"),
        3,
        SERIAL,
    ),
    CsvCase("serial-zero", csv_of('0,A,"http://example.com/a.jpg"'), 2, SERIAL),
    CsvCase("serial-negative", csv_of('-1,A,"http://example.com/a.jpg"'), 2, SERIAL),
    CsvCase("serial-decimal", csv_of('1.5,A,"http://example.com/a.jpg"'), 2, SERIAL),
    CsvCase("serial-word", csv_of('abc,A,"http://example.com/a.jpg"'), 2, SERIAL),
    CsvCase("serial-empty", csv_of(',A,"http://example.com/a.jpg"'), 2, SERIAL),
    CsvCase("product-name-empty", csv_of('1,,"http://example.com/a.jpg"'), 2, PRODUCT),
    CsvCase("product-name-whitespace", csv_of('1,   \t ,"http://example.com/a.jpg"'), 2, PRODUCT),
    CsvCase(
        "line-after-multiline-cell",
        csv_of('1,"Two\nLines","http://example.com/a.jpg"', '2,B,"ftp://example.com/b.jpg"'),
        4,
        URLS,
    ),
    CsvCase(
        "line-after-blank-lines-crlf",
        b"S. No.,Product Name,Input Image Urls\r\n\r\n\r\n1,,http://example.com/a.jpg\r\n",
        4,
        PRODUCT,
    ),
    CsvCase(
        "sixty-bad-rows",
        csv_of(*(f"{n},,http://example.com/{n}.jpg" for n in range(1, 61))),
        2,
        PRODUCT,
        50,
    ),
]

TOO_LARGE_CASES = [
    TooLargeCase(
        "fifty-one-urls",
        one_url(",".join(f"http://example.com/{n}.jpg" for n in range(51))),
        "too_many_urls",
    ),
    TooLargeCase(
        "fifty-one-unquoted-urls-spilling",
        csv_of("1,Widget," + ",".join(f"http://example.com/{n}.jpg" for n in range(51))),
        "too_many_urls",
    ),
    TooLargeCase(
        "5001-rows", csv_of(*(f"{n},P,http://e.co/{n}.jpg" for n in range(1, 5002))), "too_many_rows"
    ),
    TooLargeCase(
        "upload-of-2.1-mb",
        csv_of("1,A,http://example.com/a.jpg") + b"x" * (MAX_UPLOAD_BYTES + 100_000),
        "upload_too_large",
    ),
]


@pytest.mark.parametrize("case", CSV_CASES, ids=lambda case: case.id)
def test_rejected_csv(stack: RunningStack, case: CsvCase) -> None:
    response = httpx.post(
        f"{stack.base_url}/upload", files={"file": ("products.csv", case.content, "text/csv")}, timeout=60
    )
    body = assert_error(answer_of(response), 400, "csv_rejected")
    problems = body["problems"]
    assert problems, body
    assert (problems[0]["line"], problems[0]["column"]) == (case.line, case.column), problems
    assert all(isinstance(problem["message"], str) and problem["message"] for problem in problems)
    if case.problems is not None:
        assert len(problems) == case.problems, problems


@pytest.mark.parametrize("case", TOO_LARGE_CASES, ids=lambda case: case.id)
def test_too_large_csv(stack: RunningStack, case: TooLargeCase) -> None:
    response = httpx.post(
        f"{stack.base_url}/upload", files={"file": ("products.csv", case.content, "text/csv")}, timeout=60
    )
    assert_error(answer_of(response), 413, case.error)


# --------------------------------------------------------------------------------------------
# B and C. HTTP requests, request ids and paths: the cases that need the real server's HTTP
# parser, a stored request or the database (those the gateway refuses before any dependency are
# in-process, in tests/api/test_bad_requests.py)

VALID_CSV = one_url("http://example.com/a.jpg")
BOUNDARY = "imgpipe-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


class Ids(NamedTuple):
    unknown: str  # a uuid4 no request has
    known: str  # a finished request's id: its input.csv and output.csv exist on disk


Sender = Callable[[str, Ids], Answer]


def via_httpx(method: str, path: str, **arguments: Any) -> Sender:
    """An httpx request; `{unknown}` and `{known}` in the path become request ids."""

    def send(base_url: str, ids: Ids) -> Answer:
        url = base_url + path.format(**ids._asdict())
        return answer_of(httpx.request(method, url, timeout=60, **arguments))

    return send


def via_socket(request_line: str, headers: str = "", body: bytes = b"") -> Sender:
    """Bytes over a socket, for what httpx would normalize or refuse to send."""

    def send(base_url: str, ids: Ids) -> Answer:
        head = (
            f"{request_line.format(**ids._asdict())}\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n"
        )
        return raw_exchange(base_url, head.encode() + body)

    return send


def file_part(name: str, file_name: str, content: bytes) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
        f"Content-Type: text/csv\r\n\r\n"
    ).encode() + content


@dataclass(frozen=True)
class HttpCase:
    id: str
    send: Sender
    status: int
    error: str | None  # None: answered at the protocol level, the body need not be JSON


HTTP_CASES = [
    HttpCase(
        "declared-50-mb-small-body",
        via_socket(
            "POST /upload HTTP/1.1",
            f"Content-Type: {MULTIPART}\r\nContent-Length: 50000000\r\n",
            file_part("file", "products.csv", VALID_CSV),
        ),
        413,
        "upload_too_large",
    ),
    # Refused by uvicorn's HTTP parser before the app: plain text, not JSON.
    HttpCase(
        "non-numeric-content-length",
        via_socket("POST /upload HTTP/1.1", "Content-Length: abc\r\n"),
        400,
        None,
    ),
    # Request heads are capped at IMGPIPE_MAX_HEADER_BYTES (64 KB) before the app sees them.
    HttpCase("10-kb-header", via_httpx("GET", "/healthz", headers={"X-Junk": "a" * 10 * 1024}), 200, None),
    HttpCase(
        "70-kb-header",
        via_httpx("GET", "/healthz", headers={"X-Junk": "a" * 70 * 1024}),
        431,
        "header_too_large",
    ),
    HttpCase(
        "8-mb-header",
        via_httpx("GET", "/healthz", headers={"X-Junk": "a" * 8 * 1024 * 1024}),
        431,
        "header_too_large",
    ),
    # C. request ids and paths
    HttpCase(
        "status-encoded-traversal", via_httpx("GET", "/status/..%2F..%2Fetc%2Fpasswd"), 404, "not_found"
    ),
    HttpCase("status-unknown-uuid", via_httpx("GET", "/status/{unknown}"), 404, "not_found"),
    HttpCase("download-unknown-uuid", via_httpx("GET", "/download/{unknown}"), 404, "not_found"),
    HttpCase(
        "image-encoded-traversal-to-input",
        via_httpx("GET", "/processed_images/{known}/..%2F..%2Finput.csv"),
        404,
        "not_found",
    ),
    HttpCase(
        "image-encoded-dot-segment-to-input",
        via_httpx("GET", "/processed_images/{known}/%2e%2e%2f{known}%2finput.csv"),
        404,
        "not_found",
    ),
    HttpCase(
        "image-input-csv-unknown", via_httpx("GET", "/processed_images/{unknown}/input.csv"), 404, "not_found"
    ),
    HttpCase(
        "image-output-csv-unknown",
        via_httpx("GET", "/processed_images/{unknown}/output.csv"),
        404,
        "not_found",
    ),
    HttpCase(
        "image-input-csv-existing", via_httpx("GET", "/processed_images/{known}/input.csv"), 404, "not_found"
    ),
    HttpCase(
        "image-output-csv-existing",
        via_httpx("GET", "/processed_images/{known}/output.csv"),
        404,
        "not_found",
    ),
    HttpCase(
        "image-unknown-jpg", via_httpx("GET", "/processed_images/{known}/nothing.jpg"), 404, "not_found"
    ),
    HttpCase(
        "image-encoded-absolute-path", via_httpx("GET", "/processed_images/%2Fetc%2Fpasswd"), 404, "not_found"
    ),
    HttpCase(
        "image-double-slash-path",
        via_httpx("GET", "/processed_images/{unknown}//etc/passwd"),
        404,
        "not_found",
    ),
    HttpCase(
        "image-raw-dot-dot", via_socket("GET /processed_images/../../etc/passwd HTTP/1.1"), 404, "not_found"
    ),
    HttpCase(
        "image-raw-dot-dot-to-input",
        via_socket("GET /processed_images/{known}/../{known}/input.csv HTTP/1.1"),
        404,
        "not_found",
    ),
]


@pytest.fixture(scope="module")
def request_ids(stack: RunningStack, image_server: LocalHttpServer) -> Ids:
    url = image_server.add("/bad-inputs/ok.jpg", Resource(photo_like_image(32, 32, seed=11), "image/jpeg"))
    response = upload(stack.base_url, product_csv([("1", "Known", [url])]))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    assert wait_finished(stack.base_url, request_id)["status"] == "completed"
    storage = open_storage(stack.settings.storage, stack.settings.base_url)
    assert run_sync(storage.exists(input_spool_key(request_id)))
    assert run_sync(storage.exists(output_csv_key(request_id)))
    return Ids(unknown=str(uuid.uuid4()), known=request_id)


@pytest.mark.parametrize("case", HTTP_CASES, ids=lambda case: case.id)
def test_bad_request(stack: RunningStack, request_ids: Ids, case: HttpCase) -> None:
    answer = case.send(stack.base_url, request_ids)
    if case.error is None:
        assert answer.status == case.status
    else:
        assert_error(answer, case.status, case.error)
    assert healthy(stack.base_url)


# --------------------------------------------------------------------------------------------
# D. Image sources: one upload, one row per case


class Servers(NamedTuple):
    image: LocalHttpServer
    forbidden: LocalHttpServer
    closed_port: int


Source = Callable[[Servers, str], str]  # registers what the case serves at a path, returns its URL


@cache
def jpeg() -> bytes:
    return photo_like_image(96, 96, seed=5)


@cache
def in_format(image_format: str) -> bytes:
    """The same photo as `jpeg()` in another format (HEIF through pillow-heif's plugin)."""
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg())).save(buffer, format=image_format, quality=90)
    return buffer.getvalue()


@cache
def jpeg_with_broken_profile() -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg())).save(buffer, format="JPEG", icc_profile=b"no ICC profile" * 20)
    return buffer.getvalue()


@cache
def bomb_png() -> bytes:
    """A valid PNG declaring 20000x20000 1-bit pixels, all zero: 400 Mpx in about 50 KB."""
    width = height = 20_000

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(bytes(height * (1 + width // 8)), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def served(resource: Callable[[], Resource]) -> Source:
    return lambda servers, path: servers.image.add(path, resource())


def redirect(location: str, status: int = 302) -> Resource:
    return Resource(b"", status=status, headers=(("Location", location),))


def redirect_chain(hops: int) -> Source:
    def add(servers: Servers, path: str) -> str:
        for hop in range(hops):
            servers.image.add(f"{path}/{hop}", redirect(f"{path}/{hop + 1}"))
        servers.image.add(f"{path}/{hops}", Resource(jpeg(), "image/jpeg"))
        return servers.image.url(f"{path}/0")

    return add


def redirect_to_forbidden(servers: Servers, path: str) -> str:
    return servers.image.add(path, redirect(servers.forbidden.url("/bad-inputs/target.jpg")))


def closed_port_url(servers: Servers, path: str) -> str:
    return f"http://127.0.0.1:{servers.closed_port}/a.jpg"


ONE_AND_A_HALF_MB = 1_500_000


@dataclass(frozen=True)
class ImageCase:
    id: str
    source: Source
    code: str | None  # None: the image is converted
    # A second acceptable code, only where the network decides between two honest answers.
    or_code: str | None = None


IMAGE_CASES = [
    ImageCase("status-404", served(lambda: Resource(b"gone", "text/plain", 404)), "http_error"),
    ImageCase("status-500", served(lambda: Resource(b"oops", "text/plain", 500)), "http_error"),
    ImageCase("status-403", served(lambda: Resource(b"no", "text/plain", 403)), "http_error"),
    ImageCase("status-204", served(lambda: Resource(b"", "image/jpeg", 204)), "http_error"),
    ImageCase("slow-beyond-timeout", served(lambda: Resource(jpeg(), "image/jpeg", delay_s=4)), "timeout"),
    ImageCase(
        "truncated-jpeg", served(lambda: Resource(jpeg()[: len(jpeg()) // 2], "image/jpeg")), "not_an_image"
    ),
    ImageCase(
        "html-as-image-jpeg",
        served(lambda: Resource(b"<!doctype html><html><body>hi</body></html>", "image/jpeg")),
        "not_an_image",
    ),
    ImageCase(
        "svg-image",
        served(lambda: Resource(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml")),
        "not_an_image",
    ),
    ImageCase("empty-body", served(lambda: Resource(b"", "image/jpeg")), "not_an_image"),
    ImageCase("decompression-bomb-png", served(lambda: Resource(bomb_png(), "image/png")), "image_too_large"),
    ImageCase(
        "honest-1.5-mb",
        served(lambda: Resource(b"\xff" * ONE_AND_A_HALF_MB, "image/jpeg")),
        "too_large",
    ),
    ImageCase(
        "1.5-mb-without-content-length",
        served(lambda: Resource(b"\xff" * ONE_AND_A_HALF_MB, "image/jpeg", content_length=None)),
        "too_large",
    ),
    # Content-Length smaller than the body breaks HTTP framing. If the excess arrives in the same
    # read as the declared bytes, the HTTP parser rejects the response (http_error); otherwise the
    # declared bytes are the body, and they are not an image. Either way: failed, never retried.
    ImageCase(
        "1.5-mb-claiming-1-kb",
        served(lambda: Resource(b"\xff" * ONE_AND_A_HALF_MB, "image/jpeg", content_length=1000)),
        "http_error",
        or_code="not_an_image",
    ),
    ImageCase(
        "content-length-smaller-than-body",
        served(lambda: Resource(jpeg(), "image/jpeg", content_length=len(jpeg()) // 2)),
        "http_error",
        or_code="not_an_image",
    ),
    ImageCase(
        "content-length-larger-than-body",
        served(lambda: Resource(jpeg(), "image/jpeg", content_length=len(jpeg()) * 2)),
        "connection_failed",
    ),
    ImageCase("redirect-loop", lambda servers, path: servers.image.add(path, redirect(path)), "http_error"),
    ImageCase("six-redirects", redirect_chain(6), "http_error"),
    ImageCase("five-redirects", redirect_chain(5), None),
    ImageCase("redirect-to-forbidden-server", redirect_to_forbidden, "blocked_destination"),
    ImageCase("redirect-to-file-url", served(lambda: redirect("file:///etc/passwd")), "blocked_destination"),
    ImageCase("301-without-location", served(lambda: Resource(b"", status=301)), "http_error"),
    ImageCase("closed-port", closed_port_url, "connection_failed"),
    ImageCase("jpeg-as-text-plain", served(lambda: Resource(jpeg(), "text/plain")), None),
    ImageCase(
        "png-with-empty-content-type",
        served(lambda: Resource(photo_like_image(40, 30, seed=9, image_format="PNG"), "")),
        None,
    ),
    ImageCase("heic", served(lambda: Resource(in_format("HEIF"), "image/heic")), None),
    ImageCase("avif", served(lambda: Resource(in_format("AVIF"), "image/avif")), None),
    ImageCase(
        "truncated-heic",
        served(lambda: Resource(in_format("HEIF")[: len(in_format("HEIF")) // 2], "image/heic")),
        "not_an_image",
    ),
    # Ignored as browsers ignore it: the pixels are taken as sRGB.
    ImageCase("jpeg-with-broken-icc-profile", served(lambda: Resource(jpeg_with_broken_profile())), None),
    # Pillow reads ICO; imgpipe's list of formats does not have it.
    ImageCase("ico-image", served(lambda: Resource(in_format("ICO"), "image/x-icon")), "not_an_image"),
]

FAILING_IMAGES = sum(1 for case in IMAGE_CASES if case.code is not None)


@pytest.fixture(scope="module")
def image_request(
    stack: RunningStack,
    image_server: LocalHttpServer,
    forbidden_server: LocalHttpServer,
    closed_port: int,
) -> dict[str, Any]:
    servers = Servers(image_server, forbidden_server, closed_port)
    rows = [
        (str(n), case.id, [case.source(servers, f"/bad-inputs/{case.id}")])
        for n, case in enumerate(IMAGE_CASES, start=1)
    ]
    response = upload(stack.base_url, product_csv(rows))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    status = wait_finished(stack.base_url, request_id)
    details = httpx.get(f"{stack.base_url}/status/{request_id}", params={"rows": "true"}, timeout=30).json()
    return {"status": status, "rows": {row["product_name"]: row for row in details["row_details"]}}


@pytest.mark.parametrize("case", IMAGE_CASES, ids=lambda case: case.id)
def test_image_source(image_request: dict[str, Any], case: ImageCase) -> None:
    row = image_request["rows"][case.id]
    [image] = row["images"]
    if case.code is None:
        assert image["error"] is None, image
        assert image["output_url"]
        assert row["status"] == "done"
    else:
        assert image["output_url"] is None, image
        assert image["error"]["code"] in {case.code, case.or_code}, image
        assert image["error"]["message"]
        assert not any(leak in image["error"]["message"] for leak in LEAKS), image
        assert row["status"] == "failed"


def test_image_request_completes_with_errors(image_request: dict[str, Any]) -> None:
    status = image_request["status"]
    assert status["status"] == "completed_with_errors"
    assert status["images"] == {
        "total": len(IMAGE_CASES),
        "done": len(IMAGE_CASES) - FAILING_IMAGES,
        "failed": FAILING_IMAGES,
    }
    assert status["rows"]["failed"] == FAILING_IMAGES


def test_forbidden_server_never_reached(
    image_request: dict[str, Any], forbidden_server: LocalHttpServer
) -> None:
    assert forbidden_server.requests == []


# --------------------------------------------------------------------------------------------
# E. Still healthy after all of the above


def test_gateway_still_healthy_and_working(stack: RunningStack, image_server: LocalHttpServer) -> None:
    assert healthy(stack.base_url)
    url = image_server.add("/bad-inputs/after.jpg", Resource(photo_like_image(48, 48, seed=13), "image/jpeg"))
    response = upload(stack.base_url, product_csv([("1", "After", [url])]))
    assert response.status_code == 202, response.text
    status = wait_finished(stack.base_url, response.json()["request_id"])
    assert status["status"] == "completed"
    assert status["images"] == {"total": 1, "done": 1, "failed": 0}
