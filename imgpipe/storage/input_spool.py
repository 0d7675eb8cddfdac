"""The accepted, normalized copy of an uploaded CSV, kept in storage beside the request's images.

The gateway writes it to a local file while validating, then puts it into storage
(`store_input_spool`); the rows are published from it (imgpipe/storage/row_producer.py: by the
gateway, and again by the aggregator's repair for rows of a stalled request that never produced a
result), the aggregator reads it back to write the output CSV in input order, and the status reads
a page of it. One row per record, URLs joined by commas.

Beside it, an index holds the byte offset of every `INDEX_EVERY_ROWS`-th row, so that a page of
row details deep into a million-row request starts reading where the page starts: a ranged read,
the same on a local file and on S3.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from pathlib import Path

from imgpipe.storage.base import ObjectNotFound, ObjectStorage, read_all
from imgpipe.storage.request_paths import input_spool_key


@dataclass(frozen=True)
class ProductRow:
    serial_number: str
    product_name: str
    input_urls: tuple[str, ...]


INDEX_EVERY_ROWS = 500
CONTENT_TYPE = "text/csv; charset=utf-8"


def _index_key(spool_key: str) -> str:
    return f"{spool_key}.index"


def local_index_path(spool: Path) -> Path:
    return spool.with_name(f"{spool.name}.index")


class InputSpoolWriter:
    """Writes the spool and its index to local files, for `store_input_spool` to put into storage."""

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
        local_index_path(self._path).write_text("".join(f"{offset}\n" for offset in self._offsets))


async def store_input_spool(storage: ObjectStorage, request_id: str, spool: Path) -> None:
    """Put the spool written by InputSpoolWriter into storage; the local files are taken."""
    key = input_spool_key(request_id)
    # The spool first: a reader that finds no index yet reads from the start, which is correct.
    await storage.put(key, spool, CONTENT_TYPE)
    await storage.put(_index_key(key), local_index_path(spool), "text/plain")


async def delete_input_spool(storage: ObjectStorage, request_id: str) -> None:
    key = input_spool_key(request_id)
    await storage.delete(key)
    await storage.delete(_index_key(key))


async def _indexed_offset(storage: ObjectStorage, key: str, start: int) -> tuple[int, int]:
    """Where to start reading for row `start`: a byte offset and the row found there."""
    if start < INDEX_EVERY_ROWS:
        return 0, 0
    try:
        offsets = (await read_all(storage, _index_key(key))).split()
    except ObjectNotFound:
        return 0, 0
    entry = min(start // INDEX_EVERY_ROWS, len(offsets) - 1)
    return int(offsets[entry]), entry * INDEX_EVERY_ROWS


def _complete_records(text: str) -> int:
    """How much of `text` is whole records: up to the last line break outside quotes.

    csv.writer doubles every quote inside a quoted cell, so a line break ends a record exactly
    when the quotes before it are even in number.
    """
    end = position = quotes = 0
    for line in text.split("\n")[:-1]:  # the last piece has no line break after it
        quotes += line.count('"')
        position += len(line) + 1
        if quotes % 2 == 0:
            end = position
    return end


def _parse(records: str) -> Iterator[ProductRow]:
    for serial_number, product_name, urls in csv.reader(io.StringIO(records, newline="")):
        yield ProductRow(serial_number, product_name, tuple(urls.split(",")))


async def read_input_spool(
    storage: ObjectStorage, request_id: str, start: int = 0
) -> AsyncGenerator[tuple[int, ProductRow]]:
    """The spooled rows from row number `start` (0-based) to the end, each with its number,
    streamed from storage."""
    key = input_spool_key(request_id)
    offset, row = await _indexed_offset(storage, key, start)
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    async for chunk in storage.read(key, offset):
        pending += decoder.decode(chunk)
        complete = _complete_records(pending)
        for product in _parse(pending[:complete]):
            if row >= start:
                yield row, product
            row += 1
        pending = pending[complete:]
    for product in _parse(pending + decoder.decode(b"", final=True)):
        if row >= start:
            yield row, product
        row += 1
