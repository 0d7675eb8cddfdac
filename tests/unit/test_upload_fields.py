"""POST /upload's form fields: the schemas the OpenAPI document publishes accept exactly what the
gateway accepts, so a client that validates against the document is never surprised by a 400."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from gateway.api.errors import ApiError
from gateway.api.routes.upload import _check_webhook_url, _jpeg_quality
from gateway.app import create_app
from imgpipe.config.settings import Settings

FIELDS = create_app(Settings()).openapi()["components"]["schemas"]["Body_upload_upload_post"]["properties"]


def _published_pattern_matches(field: str, value: str) -> bool:
    # As JSON Schema reads a pattern: an unanchored search, `$` being the end of the string.
    return re.search(FIELDS[field]["pattern"].removesuffix("$") + r"\Z", value) is not None


def _accepted(check: Callable[..., object], *arguments: object) -> bool:
    try:
        check(*arguments)
    except ApiError as refused:
        assert refused.status_code == 400
        return False
    return True


def test_the_qualities_accepted_are_the_published_range() -> None:
    published = FIELDS["quality"]
    accepted = {number for number in range(-2, 1001) if _accepted(_jpeg_quality, str(number), 80)}
    assert published["type"] == "integer"
    assert accepted == set(range(int(published["minimum"]), int(published["maximum"]) + 1))


@pytest.mark.parametrize("text", ["", "abc", "5.0", "+5", "1e1", "8 0", "0x10", "\u0663", "true", "null"])
def test_a_quality_that_is_not_a_whole_number_is_refused(text: str) -> None:
    assert not _accepted(_jpeg_quality, text, 80)


WEBHOOK_URLS = [
    "http://hooks.example.com/imgpipe",
    "HTTPS://user:secret@hooks.example.com:8443/a?b=c#d",
    "http://[2001:db8::1]:8080/x",
    "http://10.0.0.1",
    "http://a",
    " http://a",
    "http://a b",
    "http://a/\u00a0",
    "http://a\n",
    "http://é.example/ü",
    "http://:80",
    "http://a@",
    "http:///path",
    "http://[::1",
    "http://[zz]",
    "ftp://x/y",
    "javascript:alert(1)",
    "not a url",
    "null",
    "",
]


@pytest.mark.parametrize("url", WEBHOOK_URLS)
def test_the_published_webhook_url_pattern_is_the_rule(url: str) -> None:
    assert _published_pattern_matches("webhook_url", url) == _accepted(_check_webhook_url, url)


def test_an_empty_file_is_outside_the_published_schema() -> None:
    assert FIELDS["file"]["minLength"] == 1
