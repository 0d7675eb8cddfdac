"""The accepted, normalized copy of an uploaded CSV, kept beside the request's images.

The gateway writes it while validating; the gateway publishes rows from it and the aggregator
reads it back to write the output CSV in input order (and to publish again the rows of a
stalled request that never produced a result). One row per line, URLs joined by commas.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imgpipe.messages import RowMessage


@dataclass(frozen=True)
class ProductRow:
    serial_number: str
    product_name: str
    input_urls: tuple[str, ...]


def input_spool_path(request_dir: Path) -> Path:
    return request_dir / "input.csv"


class InputSpoolWriter:
    def __init__(self, path: Path) -> None:
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)

    def write(self, row: ProductRow) -> None:
        self._writer.writerow([row.serial_number, row.product_name, ",".join(row.input_urls)])

    def close(self) -> None:
        self._file.close()


def read_input_spool(path: Path) -> Iterator[ProductRow]:
    with path.open(newline="", encoding="utf-8") as file:
        for serial_number, product_name, urls in csv.reader(file):
            yield ProductRow(serial_number, product_name, tuple(urls.split(",")))


def row_message(request_id: str, index: int, row: ProductRow) -> RowMessage:
    """The `imgpipe.rows` message of the spool's row number `index` (0-based)."""
    return RowMessage(
        request_id=request_id,
        row=index,
        serial_number=row.serial_number,
        product_name=row.product_name,
        input_urls=list(row.input_urls),
    )
