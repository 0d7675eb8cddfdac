"""Write the output CSV: the input rows in input order with their output image URLs added."""

from __future__ import annotations

import csv
import uuid
from collections.abc import AsyncIterable
from pathlib import Path

from imgpipe.input_spool import ProductRow

OUTPUT_HEADER = ["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"]

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# One output URL per input URL (None where the image failed), or None for a row with no outcome.
OutputRow = tuple[ProductRow, list[str | None] | None]


def neutralize_cell(value: str) -> str:
    """Prefix a would-be formula with a single quote so spreadsheets show it as text."""
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value


def output_cells(product: ProductRow, urls: list[str | None] | None) -> list[str]:
    """A failed image leaves its place empty, so the n-th output always belongs to the n-th input."""
    outputs = urls or [None] * len(product.input_urls)
    cells = [
        product.serial_number,
        product.product_name,
        ",".join(product.input_urls),
        ",".join(url or "" for url in outputs),
    ]
    return [neutralize_cell(cell) for cell in cells]


async def write_output_csv(rows: AsyncIterable[OutputRow], path: Path) -> None:
    """Stream `rows` into `path`, atomically: readers see the old file or the whole new one.

    The temporary name is unique, so two aggregators finishing the same request (one taking
    over from the other) never write into the same file. If `rows` raises, nothing is replaced.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, quoting=csv.QUOTE_ALL)
            writer.writerow(OUTPUT_HEADER)
            async for product, urls in rows:
                writer.writerow(output_cells(product, urls))
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
