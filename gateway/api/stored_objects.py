"""Answer a GET with an object streamed from storage, as browsers and CDNs expect of a file server.

The body is streamed chunk by chunk, never read whole. `ETag` and `Last-Modified` come from the
store; `If-None-Match` gets `304`; a single `Range` gets `206` with that part (`If-Range`
respected); a range beyond the end gets `416`. Several ranges in one request are answered with the
whole object, which HTTP allows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import format_datetime

from fastapi import Response
from fastapi.responses import StreamingResponse

from gateway.api.errors import ApiError, error_response
from imgpipe.storage.base import ObjectInfo, ObjectStorage

_SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class _Unsatisfiable(Exception):
    pass


def _requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The `Range` header as (start, end exclusive), or None for the whole object."""
    if header is None:
        return None
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None  # several ranges, or another unit: the whole object
    first, last = match.group(1), match.group(2)
    if first == "":  # "bytes=-N": the last N bytes
        length = int(last)
        if length == 0:
            raise _Unsatisfiable
        return max(0, size - length), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or end <= start:
        raise _Unsatisfiable
    return start, end


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match asks: W/"x" matches "x"."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _validators(info: ObjectInfo) -> dict[str, str]:
    return {
        "ETag": info.etag,
        "Last-Modified": format_datetime(info.last_modified, usegmt=True),
        "Accept-Ranges": "bytes",
    }


async def stream_object(
    storage: ObjectStorage,
    key: str,
    request_headers: Mapping[str, str],
    media_type: str,
    not_found_message: str,
    extra_headers: Mapping[str, str] | None = None,
) -> Response:
    info = await storage.stat(key)
    if info is None:
        raise ApiError(404, "not_found", not_found_message)
    headers = {**_validators(info), **(extra_headers or {})}
    # Compared here, not passed to the store as a conditional get: with obstore 0.12.1 a caught
    # NotModifiedError makes the process abort when it exits (docs/architecture.md, Notes).
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None and _matches(if_none_match, info.etag):
        return Response(status_code=304, headers=headers)
    if_range = request_headers.get("if-range")
    range_header = request_headers.get("range") if if_range in (None, info.etag) else None
    try:
        byte_range = _requested_range(range_header, info.size)
    except _Unsatisfiable:
        return error_response(
            416,
            "range_not_satisfiable",
            f"the range {range_header!r} is outside the {info.size} bytes of this object",
            headers={"Content-Range": f"bytes */{info.size}"},
        )
    if byte_range is None:
        headers["Content-Length"] = str(info.size)
        return StreamingResponse(storage.read(key), media_type=media_type, headers=headers)
    start, end = byte_range
    headers["Content-Length"] = str(end - start)
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return StreamingResponse(
        storage.read(key, start, end), status_code=206, media_type=media_type, headers=headers
    )
