"""gateway.api.stored_objects: which bytes a Range header asks for, and when If-None-Match matches."""

from __future__ import annotations

import pytest

from gateway.api.stored_objects import _matches, _requested_range, _Unsatisfiable


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 100)),
        ("bytes=100-", (100, 1000)),
        ("bytes=-50", (950, 1000)),
        ("bytes=-5000", (0, 1000)),  # more than there is: all of it
        ("bytes=990-5000", (990, 1000)),  # an end past the end is cut to it
        ("bytes=0-1,5-6", None),  # several ranges: the whole object, as HTTP allows
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_the_range_asked_for(header: str | None, expected: tuple[int, int] | None) -> None:
    assert _requested_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=-0"])
def test_a_range_outside_the_object_cannot_be_satisfied(header: str) -> None:
    with pytest.raises(_Unsatisfiable):
        _requested_range(header, 1000)


def test_if_none_match_compares_weakly_and_takes_lists_and_a_star() -> None:
    assert _matches('"a"', '"a"')
    assert _matches('W/"a"', '"a"')
    assert _matches('"b", "a"', '"a"')
    assert _matches("*", '"a"')
    assert not _matches('"b"', '"a"')
