"""imgpipe.storage.input_spool: rows read back from any row number, through the offset index, on every
storage backend (a ranged read of a local file, or of an S3 object)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.input_spool import (
    INDEX_EVERY_ROWS,
    InputSpoolWriter,
    ProductRow,
    local_index_path,
    read_input_spool,
    store_input_spool,
)
from imgpipe.storage.request_paths import input_spool_key

ROWS = 3 * INDEX_EVERY_ROWS + 7


def _product(n: int) -> ProductRow:
    # Multi-byte characters, a comma, a quote and a line break inside a cell: offsets are in
    # bytes, and a row is not a line.
    return ProductRow(
        str(n + 1),
        f'Tasse ☕ {n}, "extra",\nline two',
        (f"https://a.example/{n}.jpg", f"https://b.example/{n}.jpg"),
    )


def _write_spool(directory: Path) -> Path:
    path = directory / "input.csv"
    writer = InputSpoolWriter(path)
    for n in range(ROWS):
        writer.write(_product(n))
    writer.close()
    return path


async def _rows(storage: ObjectStorage, request_id: str, start: int) -> list[tuple[int, ProductRow]]:
    return [row async for row in read_input_spool(storage, request_id, start)]


@pytest.mark.parametrize(
    "start", [0, 1, INDEX_EVERY_ROWS - 1, INDEX_EVERY_ROWS, INDEX_EVERY_ROWS + 3, ROWS - 1]
)
async def test_reading_from_a_row_gives_that_row_and_the_rest(
    storage: ObjectStorage, tmp_path: Path, start: int
) -> None:
    await store_input_spool(storage, "req", _write_spool(tmp_path))
    rows = await _rows(storage, "req", start)
    assert rows[0] == (start, _product(start))
    assert len(rows) == ROWS - start
    assert rows[-1] == (ROWS - 1, _product(ROWS - 1))
    assert [index for index, _ in rows] == list(range(start, ROWS))


async def test_reading_past_the_end_gives_nothing(storage: ObjectStorage, tmp_path: Path) -> None:
    await store_input_spool(storage, "req", _write_spool(tmp_path))
    assert await _rows(storage, "req", ROWS) == []
    assert await _rows(storage, "req", 10 * INDEX_EVERY_ROWS) == []


async def test_a_spool_without_an_index_is_read_from_the_start(
    storage: ObjectStorage, tmp_path: Path
) -> None:
    spool = _write_spool(tmp_path)
    local_index_path(spool).unlink()
    await storage.put(input_spool_key("req"), spool, "text/csv")
    assert (await _rows(storage, "req", INDEX_EVERY_ROWS + 2))[0] == (
        INDEX_EVERY_ROWS + 2,
        _product(INDEX_EVERY_ROWS + 2),
    )
