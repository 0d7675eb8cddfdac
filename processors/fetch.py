"""Fetch one image over HTTP(S): guarded destinations, manual redirects, a capped streaming read.

A fetch may be conditional: given the validators of an earlier answer (`ETag`, `Last-Modified`),
it sends `If-None-Match` / `If-Modified-Since`, and a `304` comes back as "not modified" with no
body. Every answer says what the source allows a cache to do with it (`Cache-Control`).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from yarl import URL

from imgpipe.config.destination_guard import BlockedDestination, DestinationGuard, GuardedResolver
from imgpipe.contract.errors import CodedError
from imgpipe.contract.messages import ErrorCode

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class FetchError(CodedError[ErrorCode]):
    """`transient` failures (timeouts, resets, 429, 5xx) may succeed when tried again."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        transient: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(code, message)
        self.transient = transient
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Validators:
    """What a source said identifies the bytes it sent, for a conditional GET later."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return self.etag is not None or self.last_modified is not None

    def conditional_headers(self) -> dict[str, str]:
        # Both when both are known, as caches revalidate (RFC 9111, 4.3.1); a server that gets both
        # judges by If-None-Match and ignores If-Modified-Since (RFC 9110, 13.1.3).
        headers = {}
        if self.etag is not None:
            headers["If-None-Match"] = self.etag
        if self.last_modified is not None:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class FetchedImage:
    data: bytes | None  # None: the source answered 304, the bytes are those of the validators sent
    validators: Validators
    # Cache-Control: `no-store` forbids keeping anything of the answer; `no-cache` allows keeping
    # it but forbids using it without asking the source first.
    no_store: bool = False
    no_cache: bool = False


def _cache_directives(header: str | None) -> set[str]:
    """The directive names of a Cache-Control header, lowercased (`no-cache="x"` is `no-cache`)."""
    if not header:
        return set()
    return {part.split("=", 1)[0].strip().lower() for part in header.split(",")}


def _answer(response: aiohttp.ClientResponse, data: bytes | None, sent: Validators) -> FetchedImage:
    directives = _cache_directives(response.headers.get("Cache-Control"))
    # A 304 may carry fresher validators; when it does not, those sent still name the bytes.
    validators = Validators(
        response.headers.get("ETag", sent.etag if data is None else None),
        response.headers.get("Last-Modified", sent.last_modified if data is None else None),
    )
    return FetchedImage(data, validators, "no-store" in directives, "no-cache" in directives)


def _retry_after_seconds(header: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date."""
    if not header:
        return None
    if header.strip().isdigit():
        return float(header.strip())
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def new_fetch_session(
    guard: DestinationGuard, connect_timeout_s: float, timeout_s: float
) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(guard), limit=64, ttl_dns_cache=60)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_s, sock_connect=connect_timeout_s),
        headers={"User-Agent": "imgpipe/0.1 (+image compression service)"},
        # Bodies are image bytes: never let a server make us inflate a gzip bomb.
        auto_decompress=False,
    )


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    # Content-Length may lie or be absent: count what actually arrives.
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(ErrorCode.TOO_LARGE, f"the image is larger than {max_bytes} bytes")
    return bytes(body)


async def _fetch_following_redirects(
    session: aiohttp.ClientSession,
    guard: DestinationGuard,
    url: URL,
    max_bytes: int,
    max_redirects: int,
    validators: Validators,
) -> FetchedImage:
    headers = validators.conditional_headers()
    for _ in range(max_redirects + 1):
        guard.check_url(url)
        async with session.get(url, allow_redirects=False, headers=headers) as response:
            location = response.headers.get("Location")
            if response.status in _REDIRECT_STATUSES and location:
                url = url.join(URL(location))
                continue
            if response.status == 304 and validators:
                return _answer(response, None, validators)
            if response.status == 304:
                raise FetchError(
                    ErrorCode.HTTP_ERROR, "HTTP 304 from the server to a request that was not conditional"
                )
            if response.status != 200:
                raise FetchError(
                    ErrorCode.HTTP_ERROR,
                    f"HTTP {response.status} from the server",
                    transient=response.status == 429 or response.status >= 500,
                    retry_after_s=_retry_after_seconds(response.headers.get("Retry-After")),
                )
            return _answer(response, await _read_capped(response, max_bytes), validators)
    raise FetchError(ErrorCode.HTTP_ERROR, f"more than {max_redirects} redirects")


async def fetch_image(
    session: aiohttp.ClientSession,
    guard: DestinationGuard,
    url: str,
    max_bytes: int,
    max_redirects: int,
    validators: Validators | None = None,
) -> FetchedImage:
    """The body of `url` (None when a conditional GET found it unchanged), or FetchError with one of
    the documented error codes."""
    try:
        parsed = URL(url)
    except ValueError as error:
        raise FetchError(ErrorCode.INVALID_URL, f"not a valid URL: {error}") from None
    try:
        return await _fetch_following_redirects(
            session, guard, parsed, max_bytes, max_redirects, validators or Validators()
        )
    except BlockedDestination as error:
        raise FetchError(ErrorCode.BLOCKED_DESTINATION, str(error)) from None
    except TimeoutError:
        raise FetchError(ErrorCode.TIMEOUT, "the server did not answer in time", transient=True) from None
    except aiohttp.InvalidURL as error:
        raise FetchError(ErrorCode.INVALID_URL, f"not a valid URL: {error}") from None
    except aiohttp.ClientResponseError:
        # The server broke HTTP (e.g. more bytes than its Content-Length): asking again will not
        # help, and the parser's message would echo the server's raw bytes back to our users.
        raise FetchError(ErrorCode.HTTP_ERROR, "the server sent an invalid HTTP response") from None
    except (aiohttp.ClientError, OSError) as error:
        raise FetchError(ErrorCode.CONNECTION_FAILED, f"could not fetch: {error}", transient=True) from None
