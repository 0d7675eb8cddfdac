"""imgpipe.contract.row_key.RowKey: `request_id:row` round-trips; keys of other shapes are refused."""

from __future__ import annotations

import pytest

from imgpipe.contract.row_key import RowKey

REQUEST = "3f2c5a1e-8d4b-4c55-9a51-0c7f3e1b2a90"


def test_a_key_reads_back_as_the_row_it_was_built_from() -> None:
    key = RowKey(REQUEST, 41)

    assert key.encode() == f"{REQUEST}:41".encode()
    assert RowKey.parse(key.encode()) == key
    assert RowKey.parse(str(key)) == key


@pytest.mark.parametrize(
    "key", [None, b"", b"no-row-number", f"{REQUEST}:".encode(), b"req:-1", b"req:\xd9\xa3"]
)
def test_a_key_of_another_shape_is_not_a_row(key: bytes | None) -> None:
    assert RowKey.parse(key) is None
