"""imgpipe.input_spool: rows read back from any row number, through the offset index."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgpipe.input_spool import INDEX_EVERY_ROWS, InputSpoolWriter, ProductRow, read_input_spool


def _product(n: int) -> ProductRow:
    # Multi-byte characters, a comma and a line break inside a cell: offsets are in bytes, and a
    # row is not a line.
    return ProductRow(
        str(n + 1), f"Tasse ☕ {n},\nline two", (f"https://a.example/{n}.jpg", f"https://b.example/{n}.jpg")
    )


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spool") / "input.csv"
    writer = InputSpoolWriter(path)
    for n in range(3 * INDEX_EVERY_ROWS + 7):
        writer.write(_product(n))
    writer.close()
    return path


@pytest.mark.parametrize(
    "start", [0, 1, INDEX_EVERY_ROWS - 1, INDEX_EVERY_ROWS, INDEX_EVERY_ROWS + 3, 3 * INDEX_EVERY_ROWS + 6]
)
def test_reading_from_a_row_gives_that_row_and_the_rest(spool: Path, start: int) -> None:
    rows = list(read_input_spool(spool, start))
    assert rows[0] == _product(start)
    assert len(rows) == 3 * INDEX_EVERY_ROWS + 7 - start
    assert rows[-1] == _product(3 * INDEX_EVERY_ROWS + 6)


def test_reading_past_the_end_gives_nothing(spool: Path) -> None:
    assert list(read_input_spool(spool, 3 * INDEX_EVERY_ROWS + 7)) == []
    assert list(read_input_spool(spool, 10 * INDEX_EVERY_ROWS)) == []


def test_a_spool_without_an_index_is_read_from_the_start(spool: Path, tmp_path: Path) -> None:
    copy = tmp_path / "input.csv"
    copy.write_bytes(spool.read_bytes())
    assert next(read_input_spool(copy, INDEX_EVERY_ROWS + 2)) == _product(INDEX_EVERY_ROWS + 2)
