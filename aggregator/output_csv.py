"""Write the output CSV: the input rows in input order with their output image URLs added."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from imgpipe.input_spool import ProductRow

OUTPUT_HEADER = ["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"]


def write_output_csv(
    products: Iterable[ProductRow], outputs: Mapping[int, list[str | None]], path: Path
) -> None:
    """`outputs[row]` lists one output URL per input URL; a failed image leaves its place empty,
    so the n-th output always belongs to the n-th input. Written atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(OUTPUT_HEADER)
        for index, product in enumerate(products):
            urls = outputs.get(index) or [None] * len(product.input_urls)
            writer.writerow(
                [
                    product.serial_number,
                    product.product_name,
                    ",".join(product.input_urls),
                    ",".join(url or "" for url in urls),
                ]
            )
    temporary.replace(path)
