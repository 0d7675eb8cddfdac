"""aggregator.output_csv.write_output_csv: input rows in order, output URLs aligned with inputs."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import pytest

from aggregator import output_csv
from aggregator.output_csv import OutputRow
from imgpipe.storage.file import FileStorage
from imgpipe.storage.input_spool import ProductRow


def write_output_csv(
    products: Sequence[ProductRow], outputs: Mapping[int, list[str | None]], path: Path
) -> None:
    """The aggregator's streaming writer, fed the way completion feeds it: rows in input order."""

    async def rows() -> AsyncIterator[OutputRow]:
        for index, product in enumerate(products):
            urls = outputs.get(index)
            yield product, None if urls is None else [urls]

    asyncio.run(output_csv.write_output_csv(rows(), (), *_stored_at(path)))


def _stored_at(path: Path) -> tuple[FileStorage, str]:
    """A file storage and request id whose output CSV is `path` (`<root>/<request_id>/output.csv`)."""
    return FileStorage(path.parent.parent, "http://gateway.test"), path.parent.name


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_header_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"

    write_output_csv([], {}, path)

    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    # Every cell is quoted, the header too.
    assert first_line == '"S. No.","Product Name","Input Image Urls","Output Image Urls"'
    assert _read(path) == [["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"]]


def test_rows_in_input_order_with_their_outputs(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    products = [
        ProductRow("1", "SKU1", ("https://a.example/1.jpg", "https://a.example/2.jpg")),
        ProductRow("2", "SKU2", ("https://a.example/3.jpg",)),
    ]
    outputs: dict[int, list[str | None]] = {
        1: ["http://out.example/r/1/0.jpg"],  # inserted first on purpose
        0: ["http://out.example/r/0/0.jpg", "http://out.example/r/0/1.jpg"],
    }

    write_output_csv(products, outputs, path)

    assert _read(path)[1:] == [
        [
            "1",
            "SKU1",
            "https://a.example/1.jpg,https://a.example/2.jpg",
            "http://out.example/r/0/0.jpg,http://out.example/r/0/1.jpg",
        ],
        ["2", "SKU2", "https://a.example/3.jpg", "http://out.example/r/1/0.jpg"],
    ]


def test_failed_image_leaves_an_empty_position(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    products = [ProductRow("1", "SKU1", ("https://a/1.jpg", "https://a/2.jpg", "https://a/3.jpg"))]

    write_output_csv(products, {0: ["http://o/a.jpg", None, "http://o/c.jpg"]}, path)

    output_cell = _read(path)[1][3]
    assert output_cell == "http://o/a.jpg,,http://o/c.jpg"
    assert output_cell.split(",")[2] == "http://o/c.jpg"  # third output still third


def test_all_images_failed_gives_only_separators(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    products = [ProductRow("1", "SKU1", ("https://a/1.jpg", "https://a/2.jpg"))]

    write_output_csv(products, {0: [None, None]}, path)

    assert _read(path)[1][3] == ","


def test_row_missing_from_outputs_gets_empty_positions(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    products = [
        ProductRow("1", "SKU1", ("https://a/1.jpg", "https://a/2.jpg", "https://a/3.jpg")),
        ProductRow("2", "SKU2", ("https://a/4.jpg",)),
        ProductRow("3", "SKU3", ("https://a/5.jpg",)),
    ]

    write_output_csv(products, {2: ["http://o/5.jpg"]}, path)

    assert [row[3] for row in _read(path)[1:]] == [",,", "", "http://o/5.jpg"]


def test_cells_with_commas_and_quotes_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    name = 'Mug, "Large" 12oz'
    products = [ProductRow("1", name, ("https://a/1.jpg", "https://a/2.jpg"))]

    write_output_csv(products, {0: ["http://o/1.jpg", "http://o/2.jpg"]}, path)

    text = path.read_text(encoding="utf-8")
    assert '"Mug, ""Large"" 12oz"' in text
    assert _read(path) == [
        ["S. No.", "Product Name", "Input Image Urls", "Output Image Urls"],
        ["1", name, "https://a/1.jpg,https://a/2.jpg", "http://o/1.jpg,http://o/2.jpg"],
    ]


def test_replaces_an_existing_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    path.write_text("stale content\n", encoding="utf-8")

    write_output_csv([ProductRow("1", "SKU1", ("https://a/1.jpg",))], {0: ["http://o/1.jpg"]}, path)

    assert _read(path)[1] == ["1", "SKU1", "https://a/1.jpg", "http://o/1.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output.csv"]


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_like_cells_are_neutralized(tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "output.csv"
    name = f'{prefix}HYPERLINK("http://evil.example")'
    write_output_csv([ProductRow("1", name, ("https://example.com/a.jpg",))], {}, path)
    assert _read(path)[1][1] == "'" + name


def test_plain_cells_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    write_output_csv([ProductRow("1", "Shoe 2-pack", ("https://example.com/a.jpg",))], {}, path)
    assert _read(path)[1][:2] == ["1", "Shoe 2-pack"]


def test_a_failing_row_source_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    path.write_text("old\n", encoding="utf-8")

    async def failing_rows() -> AsyncIterator[OutputRow]:
        yield ProductRow("1", "SKU1", ("https://a/1.jpg",)), [["http://o/1.jpg"]]
        raise LookupError("row 1 has no outcome")

    with pytest.raises(LookupError):
        asyncio.run(output_csv.write_output_csv(failing_rows(), (), *_stored_at(path)))

    assert path.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output.csv"]


def test_a_column_per_preset_after_the_jpegs_with_urls_in_input_order(tmp_path: Path) -> None:
    path = tmp_path / "output.csv"
    products = [
        ProductRow("1", "SKU1", ("https://a/1.jpg", "https://a/2.jpg")),
        ProductRow("2", "SKU2", ("https://a/3.jpg",)),
    ]

    async def rows() -> AsyncIterator[OutputRow]:
        yield products[0], [["http://o/1.jpg", None], ["http://o/1.webp", None], ["http://o/1.avif", None]]
        yield products[1], None  # no outcome: every column empty, one place per input

    asyncio.run(output_csv.write_output_csv(rows(), ("thumb", "large"), *_stored_at(path)))

    assert _read(path) == [
        [
            "S. No.",
            "Product Name",
            "Input Image Urls",
            "Output Image Urls",
            "Output Image Urls (thumb)",
            "Output Image Urls (large)",
        ],
        [
            "1",
            "SKU1",
            "https://a/1.jpg,https://a/2.jpg",
            "http://o/1.jpg,",
            "http://o/1.webp,",
            "http://o/1.avif,",
        ],
        ["2", "SKU2", "https://a/3.jpg", "", "", ""],
    ]
