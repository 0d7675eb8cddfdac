"""Write the output CSV: the input rows in input order with their output image URLs added."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from imgpipe.input_spool import ProductRow

OUTPUT_HEADER = ["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"]

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value: str) -> str:
    """Prefix a would-be formula with a single quote so spreadsheets show it as text."""
    return f"'{value}" if value.startswith(_FORMULA_PREFIXES) else value


def write_output_csv(
    products: Iterable[ProductRow], outputs: Mapping[int, list[str | None]], path: Path
) -> None:
    """`outputs[row]` lists one output URL per input URL; a failed image leaves its place empty,
    so the n-th output always belongs to the n-th input. Written atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, quoting=csv.QUOTE_ALL)
        writer.writerow(OUTPUT_HEADER)
        for index, product in enumerate(products):
            urls = outputs.get(index) or [None] * len(product.input_urls)
            cells = [
                product.serial_number,
                product.product_name,
                ",".join(product.input_urls),
                ",".join(url or "" for url in urls),
            ]
            writer.writerow([neutralize_cell(cell) for cell in cells])
    temporary.replace(path)
