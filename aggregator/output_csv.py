"""Write the output CSV: the input rows in input order with their output image URLs added.

The JPEGs' URLs go in `Output Image Urls`; a request with presets gets a column for each after
it, `Output Image Urls (<preset>)`, with its variants' URLs in the same order."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Sequence

from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.input_spool import ProductRow
from imgpipe.storage.request_paths import output_csv_key

CONTENT_TYPE = "text/csv; charset=utf-8"
# An S3 multipart upload's parts must be 5 MiB at least (but the last): one part per chunk.
CHUNK_BYTES = 5 * 1024 * 1024

OUTPUT_HEADER = ["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"]

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Per output column (the JPEGs', then each preset's), one URL per input URL (None where the image
# failed); or None for a row with no outcome.
OutputRow = tuple[ProductRow, list[list[str | None]] | None]


def neutralize_cell(value: str) -> str:
    """Prefix a would-be formula with a single quote so spreadsheets show it as text."""
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value


def output_header(preset_names: Sequence[str]) -> list[str]:
    return [*OUTPUT_HEADER, *(f"{OUTPUT_HEADER[-1]} ({name})" for name in preset_names)]


def output_cells(product: ProductRow, columns: list[list[str | None]] | None, column_count: int) -> list[str]:
    """A failed image leaves its place empty, so the n-th output always belongs to the n-th input."""
    outputs = columns or [[None] * len(product.input_urls)] * column_count
    cells = [
        product.serial_number,
        product.product_name,
        ",".join(product.input_urls),
        *(",".join(url or "" for url in urls) for urls in outputs),
    ]
    return [neutralize_cell(cell) for cell in cells]


async def _csv_chunks(rows: AsyncIterable[OutputRow], preset_names: Sequence[str]) -> AsyncIterator[bytes]:
    """The CSV's bytes in chunks of about CHUNK_BYTES: a few rows' worth of memory, not the file's."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(output_header(preset_names))
    async for product, columns in rows:
        writer.writerow(output_cells(product, columns, 1 + len(preset_names)))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def write_output_csv(
    rows: AsyncIterable[OutputRow], preset_names: Sequence[str], storage: ObjectStorage, request_id: str
) -> None:
    """Stream `rows` into the request's output CSV, atomically: readers see the old object or the
    whole new one. If `rows` raises, nothing is replaced. Two aggregators finishing the same request
    (one taking over from the other) write the same content, so either may win."""
    await storage.put(output_csv_key(request_id), _csv_chunks(rows, preset_names), CONTENT_TYPE)
