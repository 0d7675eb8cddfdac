"""The accepted, normalized copy of an uploaded CSV, kept beside the request's images.

The gateway writes it while validating; the gateway publishes rows from it and the aggregator
reads it back to write the output CSV in input order (and to publish again the rows of a
stalled request that never produced a result). One row per line, URLs joined by commas.

Beside it, an index holds the file offset of every `INDEX_EVERY_ROWS`-th row, so that a page of
row details deep into a million-row request starts reading where the page starts.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imgpipe.messages import RowMessage


@dataclass(frozen=True)
class ProductRow:
    serial_number: str
    product_name: str
    input_urls: tuple[str, ...]


INDEX_EVERY_ROWS = 500


def input_spool_path(request_dir: Path) -> Path:
    return request_dir / "input.csv"


def _index_path(spool: Path) -> Path:
    return spool.with_name(f"{spool.name}.index")


class InputSpoolWriter:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._rows = 0
        self._offsets: list[int] = []

    def write(self, row: ProductRow) -> None:
        if self._rows % INDEX_EVERY_ROWS == 0:
            self._offsets.append(self._file.tell())
        self._writer.writerow([row.serial_number, row.product_name, ",".join(row.input_urls)])
        self._rows += 1

    def close(self) -> None:
        self._file.close()
        _index_path(self._path).write_text("".join(f"{offset}\n" for offset in self._offsets))


def _indexed_offset(spool: Path, start: int) -> tuple[int, int]:
    """Where to start reading for row `start`: a file offset and the row found there."""
    index = _index_path(spool)
    if start < INDEX_EVERY_ROWS or not index.exists():
        return 0, 0
    offsets = index.read_text().split()
    entry = min(start // INDEX_EVERY_ROWS, len(offsets) - 1)
    return int(offsets[entry]), entry * INDEX_EVERY_ROWS


def read_input_spool(path: Path, start: int = 0) -> Iterator[ProductRow]:
    """The spooled rows from row number `start` (0-based) to the end."""
    offset, first_row = _indexed_offset(path, start)
    with path.open(newline="", encoding="utf-8") as file:
        file.seek(offset)
        rows = itertools.islice(csv.reader(file), start - first_row, None)
        for serial_number, product_name, urls in rows:
            yield ProductRow(serial_number, product_name, tuple(urls.split(",")))


def row_message(request_id: str, index: int, row: ProductRow, quality: int) -> RowMessage:
    """The `imgpipe.rows` message of the spool's row number `index` (0-based), for a request whose
    outputs are encoded at `quality`."""
    return RowMessage(
        request_id=request_id,
        row=index,
        serial_number=row.serial_number,
        product_name=row.product_name,
        input_urls=list(row.input_urls),
        quality=quality,
    )
