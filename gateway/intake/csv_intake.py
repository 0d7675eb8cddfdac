"""Validate an uploaded product CSV in one streaming pass and spool its normalized rows.

Memory stays bounded whatever the file size: rows are read one at a time from disk and written
straight to the spool. Every problem found is reported with its line number, up to a limit, so a
user can fix the whole file at once instead of one error per upload.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO
from urllib.parse import urlsplit

from imgpipe.contract.errors import CodedError
from imgpipe.contract.repeated_urls import RepeatedUrls
from imgpipe.storage.input_spool import InputSpoolWriter, ProductRow

MAX_REPORTED_PROBLEMS = 50
# Far above any real row (50 URLs of 2,000 characters are 100,000), far below the upload limit.
MAX_LINE_CHARS = 1024 * 1024

_POSITIVE_INTEGER = re.compile(r"0*[1-9][0-9]*")

SERIAL = "S. No."
PRODUCT = "Product Name"
URLS = "Input Image Urls"

# Header cells are compared after lower-casing and dropping everything but letters and digits.
_HEADER_ALIASES = {
    "sno": SERIAL,
    "serialnumber": SERIAL,
    "serialno": SERIAL,
    "srno": SERIAL,
    "productname": PRODUCT,
    "product": PRODUCT,
    "inputimageurls": URLS,
    "imageurls": URLS,
}


@dataclass(frozen=True)
class CsvProblem:
    line: int | None  # None: the problem is the file as a whole
    column: str | None
    message: str


@dataclass(frozen=True)
class IntakeSummary:
    rows: int
    images: int
    # For the publisher to tell the processors (imgpipe/contract/repeated_urls.py).
    repeated_urls: RepeatedUrls = field(compare=False, repr=False)


@dataclass(frozen=True)
class IntakeLimits:
    max_rows: int
    max_urls_per_row: int


@dataclass
class CsvRejected(Exception):
    problems: list[CsvProblem] = field(default_factory=list)


class CsvTooLarge(CodedError[str]):
    """The file breaks a size limit: answered with 413, not with a list of problems."""


def _normalize_header(cell: str) -> str:
    return re.sub(r"[^a-z0-9]", "", cell.lower())


# Regular expressions, not loops over characters: a million-row upload runs these per cell.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_CHARACTER_EXCEPT_LINE_BREAKS_AND_TABS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s")


def _url_problem(url: str) -> str | None:
    if _CONTROL_CHARACTER.search(url):
        return f"{url!r} contains control characters"
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return f"{url!r} is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{url!r} is not an http or https URL"
    if not parts.hostname or _WHITESPACE.search(url):
        return f"{url!r} is not an absolute URL"
    return None


class _ProblemList:
    def __init__(self) -> None:
        self.problems: list[CsvProblem] = []

    def add(self, line: int, column: str | None, message: str) -> None:
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(CsvProblem(line, column, message))

    def __bool__(self) -> bool:
        return bool(self.problems)

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_REPORTED_PROBLEMS


@dataclass(frozen=True)
class _Header:
    columns: dict[str, int]
    width: int


def _read_header(line: int, header: list[str], problems: _ProblemList) -> _Header:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _HEADER_ALIASES.get(_normalize_header(cell))
        if name is not None and name not in columns:
            columns[name] = index
    for name in (SERIAL, PRODUCT, URLS):
        if name not in columns:
            problems.add(line, name, f"the header has no {name!r} column")
    return _Header(columns, len(header))


def _lines(text: TextIO) -> Iterator[str]:
    """The file's physical lines; a line longer than MAX_LINE_CHARS is refused unread beyond it.

    csv.reader reads a whole line before it looks at it: without this bound, a file with no
    line break (up to IMGPIPE_MAX_UPLOAD_BYTES of it) would be held in memory at once.
    """
    line_number = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        line_number += 1
        if len(line) > MAX_LINE_CHARS:
            raise CsvRejected(
                [CsvProblem(line_number, None, f"the line is longer than {MAX_LINE_CHARS} characters")]
            )
        yield line


def _records(text: TextIO) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells) for every non-blank record."""
    reader = csv.reader(_lines(text))
    next_line = 1
    for cells in reader:
        line, next_line = next_line, reader.line_num + 1
        if any(cell.strip() for cell in cells):
            yield line, cells


def _check_serial_number(line: int, serial_number: str, seen: set[int], problems: _ProblemList) -> None:
    if not serial_number:
        problems.add(line, SERIAL, "the serial number is empty")
    elif not _POSITIVE_INTEGER.fullmatch(serial_number):
        problems.add(line, SERIAL, f"the serial number {serial_number!r} is not a positive integer")
    elif int(serial_number) in seen:
        problems.add(line, SERIAL, f"the serial number {serial_number} appears more than once")
    else:
        seen.add(int(serial_number))


class _RowParser:
    """Checks one data row at a time, remembering what spans rows (serial numbers seen)."""

    def __init__(self, header: _Header, limits: IntakeLimits, problems: _ProblemList) -> None:
        self._header = header
        self._limits = limits
        self._problems = problems
        self._serial_numbers: set[int] = set()

    def _cell(self, cells: list[str], name: str) -> str:
        index = self._header.columns[name]
        return cells[index].strip() if index < len(cells) else ""

    def parse(self, line: int, cells: list[str]) -> ProductRow | None:
        problems = self._problems
        serial_number, product_name = self._cell(cells, SERIAL), self._cell(cells, PRODUCT)
        # An unquoted URL list spills into cells beyond the header's width: they are more URLs.
        url_cells = [self._cell(cells, URLS), *cells[self._header.width :]]
        urls = tuple(url.strip() for part in url_cells for url in part.split(",") if url.strip())
        if len(urls) > self._limits.max_urls_per_row:
            raise CsvTooLarge(
                "too_many_urls",
                f"line {line} has {len(urls)} image URLs; at most "
                f"{self._limits.max_urls_per_row} are allowed per row",
            )
        problem_count = len(problems.problems)
        _check_serial_number(line, serial_number, self._serial_numbers, problems)
        _check_row_content(line, product_name, urls, problems)
        if len(problems.problems) != problem_count:
            return None
        return ProductRow(serial_number, product_name, urls)


def _check_row_content(line: int, product_name: str, urls: tuple[str, ...], problems: _ProblemList) -> None:
    if not product_name:
        problems.add(line, PRODUCT, "the product name is empty")
    elif _CONTROL_CHARACTER_EXCEPT_LINE_BREAKS_AND_TABS.search(product_name):  # multi-line cells are fine
        problems.add(line, PRODUCT, "the product name contains control characters")
    if not urls:
        problems.add(line, URLS, "the row has no image URL")
    for url in urls:
        message = _url_problem(url)
        if message:
            problems.add(line, URLS, message)


def _size_of(upload: BinaryIO) -> int:
    """The upload's size in bytes, read from its end; it is left at its start."""
    size = upload.seek(0, io.SEEK_END)
    upload.seek(0)
    return size


def validate_csv(upload: BinaryIO, spool: Path, limits: IntakeLimits) -> IntakeSummary:
    """Check the whole file, writing accepted rows to `spool`; raise CsvRejected listing problems."""
    problems = _ProblemList()
    rows = images = 0
    repeated_urls = RepeatedUrls(_size_of(upload))
    # utf-8-sig drops a byte-order mark; a strict decoder turns binary junk into a clear error.
    text = io.TextIOWrapper(upload, encoding="utf-8-sig", errors="strict", newline="")
    writer = InputSpoolWriter(spool)
    try:
        records = _records(text)
        try:
            first = next(records, None)
            if first is None:
                raise CsvRejected([CsvProblem(None, None, "the file is empty")])
            header_line, header_cells = first
            header = _read_header(header_line, header_cells, problems)
            if problems:
                raise CsvRejected(problems.problems)
            parser = _RowParser(header, limits, problems)
            for line, cells in records:
                rows += 1
                if rows > limits.max_rows:
                    raise CsvTooLarge(
                        "too_many_rows", f"the file has more than {limits.max_rows} product rows"
                    )
                row = parser.parse(line, cells)
                if row is not None and not problems:
                    writer.write(row)
                    repeated_urls.add_row(row.input_urls)
                    images += len(row.input_urls)
                if problems.full:
                    break
        except UnicodeDecodeError:
            raise CsvRejected([CsvProblem(None, None, "the file is not UTF-8 text")]) from None
        except csv.Error as error:
            raise CsvRejected([CsvProblem(None, None, f"the file is not valid CSV: {error}")]) from None
    finally:
        text.detach()  # the upload belongs to the caller: do not close it with the wrapper
        writer.close()
    if problems:
        raise CsvRejected(problems.problems)
    if rows == 0:
        raise CsvRejected([CsvProblem(header_line, None, "the file has a header but no product rows")])
    return IntakeSummary(rows=rows, images=images, repeated_urls=repeated_urls)
