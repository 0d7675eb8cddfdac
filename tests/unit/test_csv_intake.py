"""gateway.intake.csv_intake.validate_csv: accepted files are spooled normalized, rejected ones explain
why."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from gateway.intake.csv_intake import (
    MAX_LINE_CHARS,
    MAX_REPORTED_PROBLEMS,
    PRODUCT,
    SERIAL,
    URLS,
    CsvProblem,
    CsvRejected,
    CsvTooLarge,
    IntakeLimits,
    IntakeSummary,
    validate_csv,
)
from imgpipe.storage.file import FileStorage
from imgpipe.storage.input_spool import ProductRow, read_input_spool, store_input_spool

HEADER = "S. No.,Product Name,Input Image Urls\n"


LIMITS = IntakeLimits(max_rows=100, max_urls_per_row=5)


def _validate(content: bytes | str, spool: Path, limits: IntakeLimits = LIMITS) -> IntakeSummary:
    data = content.encode() if isinstance(content, str) else content
    return validate_csv(io.BytesIO(data), spool, limits)


def _counts(summary: IntakeSummary) -> tuple[int, int]:
    """Rows and images."""
    return summary.rows, summary.images


def _spooled(spool: Path) -> list[ProductRow]:
    """The rows as the gateway stores them and the services read them back."""
    storage = FileStorage(spool.parent / "store", "http://gateway.test")

    async def stored_rows() -> list[ProductRow]:
        await store_input_spool(storage, "request", spool)
        return [row async for _, row in read_input_spool(storage, "request")]

    return asyncio.run(stored_rows())


def _problems(content: bytes | str, spool: Path) -> list[CsvProblem]:
    with pytest.raises(CsvRejected) as caught:
        _validate(content, spool)
    return caught.value.problems


def _where(problems: list[CsvProblem]) -> list[tuple[int | None, str | None]]:
    return [(problem.line, problem.column) for problem in problems]


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "input.csv"


def test_good_csv_counts_rows_and_images_and_spools_rows_in_order(spool: Path) -> None:
    content = (
        HEADER + '1,SKU1,"https://img.example.com/a.jpg,https://img.example.com/b.jpg,'
        'https://img.example.com/c.jpg"\n'
        + '2,SKU2,"http://img.example.com/d.png,https://cdn.example.org/e.webp"\n'
        + "3,SKU3,https://img.example.com/f.jpg\n"
    )

    summary = _validate(content, spool)

    assert _counts(summary) == (3, 6)
    assert _spooled(spool) == [
        ProductRow(
            "1",
            "SKU1",
            (
                "https://img.example.com/a.jpg",
                "https://img.example.com/b.jpg",
                "https://img.example.com/c.jpg",
            ),
        ),
        ProductRow("2", "SKU2", ("http://img.example.com/d.png", "https://cdn.example.org/e.webp")),
        ProductRow("3", "SKU3", ("https://img.example.com/f.jpg",)),
    ]


def test_utf8_bom_and_crlf_line_endings(spool: Path) -> None:
    content = (
        b"\xef\xbb\xbfS. No.,Product Name,Input Image Urls\r\n"
        b'1,Caf\xc3\xa9 Cr\xc3\xa8me,"https://a.example/1.jpg,https://a.example/2.jpg"\r\n'
    )

    assert _counts(_validate(content, spool)) == (1, 2)
    assert _spooled(spool) == [
        ProductRow("1", "Café Crème", ("https://a.example/1.jpg", "https://a.example/2.jpg"))
    ]


def test_blank_lines_are_skipped(spool: Path) -> None:
    content = (
        "\n"
        + HEADER
        + "\n"
        + "1,SKU1,https://a.example/1.jpg\n"
        + "   \n"
        + ",,\n"
        + "2,SKU2,https://a.example/2.jpg\n"
        + "\n\n"
    )

    assert _counts(_validate(content, spool)) == (2, 2)
    assert [row.serial_number for row in _spooled(spool)] == ["1", "2"]


def test_whitespace_is_trimmed_and_trailing_commas_ignored(spool: Path) -> None:
    content = HEADER + ' 7 ,  Blue Mug  ," https://a.example/1.jpg ,  https://a.example/2.jpg ,"\n'

    assert _counts(_validate(content, spool)) == (1, 2)
    assert _spooled(spool) == [
        ProductRow("7", "Blue Mug", ("https://a.example/1.jpg", "https://a.example/2.jpg"))
    ]


@pytest.mark.parametrize(
    "header",
    [
        "s.no,product,image urls",
        "SERIAL NUMBER,PRODUCT NAME,INPUT IMAGE URLS",
        "Sr. No.,product_name,Image-URLs",
        "  S No , Product  Name , Input Image URLs ",
    ],
)
def test_header_matched_ignoring_case_and_punctuation(header: str, spool: Path) -> None:
    content = f"{header}\n1,SKU1,https://a.example/1.jpg\n"

    assert _counts(_validate(content, spool)) == (1, 1)
    assert _spooled(spool) == [ProductRow("1", "SKU1", ("https://a.example/1.jpg",))]


def test_unquoted_urls_spilling_into_extra_columns_are_more_urls(spool: Path) -> None:
    content = HEADER + "1,SKU1,https://a.example/1.jpg,https://a.example/2.jpg,https://a.example/3.jpg\n"

    assert _counts(_validate(content, spool)) == (1, 3)
    assert _spooled(spool)[0].input_urls == (
        "https://a.example/1.jpg",
        "https://a.example/2.jpg",
        "https://a.example/3.jpg",
    )


def test_columns_in_another_order_are_read_by_header_name(spool: Path) -> None:
    # The header is matched by name, so the column order should not matter.
    content = "Input Image Urls,S. No.,Product Name\n" + '"https://a.example/1.jpg",1,SKU1\n'

    assert _counts(_validate(content, spool)) == (1, 1)
    assert _spooled(spool) == [ProductRow("1", "SKU1", ("https://a.example/1.jpg",))]


def test_line_numbers_count_physical_lines_of_multiline_cells(spool: Path) -> None:
    content = (
        HEADER
        + '1,SKU1,"https://a.example/1.jpg,\nhttps://a.example/2.jpg"\n'  # lines 2-3
        + "\n"  # line 4
        + "2,SKU2,ftp://a.example/3.jpg\n"  # line 5
    )

    assert _where(_problems(content, spool)) == [(5, URLS)]


def test_empty_file_is_rejected(spool: Path) -> None:
    assert _where(_problems(b"", spool)) == [(None, None)]


def test_file_with_only_a_bom_and_blank_lines_is_rejected_as_empty(spool: Path) -> None:
    assert _where(_problems(b"\xef\xbb\xbf\r\n\r\n", spool)) == [(None, None)]


def test_header_only_is_rejected(spool: Path) -> None:
    problems = _problems(HEADER, spool)

    assert _where(problems) == [(1, None)]
    assert "no product rows" in problems[0].message


def test_missing_column_is_rejected_naming_the_column(spool: Path) -> None:
    problems = _problems("S. No.,Product Name\n1,SKU1\n", spool)

    assert _where(problems) == [(1, URLS)]


def test_header_with_no_known_column_lists_all_three(spool: Path) -> None:
    problems = _problems("id,name,links\n1,SKU1,https://a.example/1.jpg\n", spool)

    assert _where(problems) == [(1, SERIAL), (1, PRODUCT), (1, URLS)]


def test_header_problem_reports_the_header_line_after_blank_lines(spool: Path) -> None:
    problems = _problems("\n\nS. No.,Product Name\n1,SKU1\n", spool)

    assert _where(problems) == [(3, URLS)]


def test_non_utf8_bytes_are_rejected(spool: Path) -> None:
    content = HEADER.encode() + b"1,Caf\xe9,https://a.example/1.jpg\n"  # Latin-1 é

    problems = _problems(content, spool)

    assert _where(problems) == [(None, None)]
    assert "UTF-8" in problems[0].message


def test_row_without_urls_is_rejected(spool: Path) -> None:
    content = HEADER + "1,SKU1,https://a.example/1.jpg\n" + "2,SKU2,\n" + '3,SKU3," , "\n'

    assert _where(_problems(content, spool)) == [(3, URLS), (4, URLS)]


def test_ftp_url_is_rejected(spool: Path) -> None:
    content = HEADER + '1,SKU1,"https://a.example/1.jpg,ftp://a.example/2.jpg"\n'

    problems = _problems(content, spool)

    assert _where(problems) == [(2, URLS)]
    assert "ftp://a.example/2.jpg" in problems[0].message


@pytest.mark.parametrize("url", ["images/1.jpg", "/images/1.jpg", "//a.example/1.jpg", "http://"])
def test_relative_or_hostless_url_is_rejected(url: str, spool: Path) -> None:
    problems = _problems(HEADER + f"1,SKU1,{url}\n", spool)

    assert _where(problems) == [(2, URLS)]


def test_malformed_url_is_reported_as_a_problem_not_a_crash(spool: Path) -> None:
    # An unclosed IPv6 bracket makes urllib raise ValueError while splitting the URL.
    problems = _problems(HEADER + "1,SKU1,http://[::1/image.jpg\n", spool)

    assert _where(problems) == [(2, URLS)]


def test_empty_product_name_is_rejected(spool: Path) -> None:
    problems = _problems(HEADER + "1,  ,https://a.example/1.jpg\n", spool)

    assert _where(problems) == [(2, PRODUCT)]


def test_empty_serial_number_is_rejected(spool: Path) -> None:
    problems = _problems(HEADER + ",SKU1,https://a.example/1.jpg\n", spool)

    assert _where(problems) == [(2, SERIAL)]


def test_every_problem_of_the_file_is_reported(spool: Path) -> None:
    content = (
        HEADER
        + "1,SKU1,https://a.example/1.jpg\n"
        + "2,,ftp://a.example/2.jpg\n"
        + "3,SKU3,https://a.example/3.jpg\n"
        + "4,SKU4,\n"
    )

    assert _where(_problems(content, spool)) == [(3, PRODUCT), (3, URLS), (5, URLS)]


def test_more_than_the_limit_of_problems_reports_exactly_the_limit(spool: Path) -> None:
    bad_rows = "".join(f"{n},SKU{n},not-a-url\n" for n in range(1, 81))

    problems = _problems(HEADER + bad_rows, spool)

    assert MAX_REPORTED_PROBLEMS == 50
    assert len(problems) == 50
    assert _where(problems) == [(line, URLS) for line in range(2, 52)]


@pytest.mark.parametrize(
    ("serial", "message"),
    [
        ("0", "the serial number '0' is not a positive integer"),
        ("-3", "the serial number '-3' is not a positive integer"),
        ("1.5", "the serial number '1.5' is not a positive integer"),
        ("abc", "the serial number 'abc' is not a positive integer"),
    ],
)
def test_serial_number_must_be_a_positive_integer(tmp_path: Path, serial: str, message: str) -> None:
    content = HEADER + f'{serial},Name,"https://example.com/a.jpg"\n'
    assert _problems(content, tmp_path / "spool.csv") == [CsvProblem(2, SERIAL, message)]


def test_duplicate_serial_number_is_reported_on_its_second_line(tmp_path: Path) -> None:
    content = HEADER + "".join(
        f'{serial},Name {n},"https://example.com/{n}.jpg"\n' for n, serial in enumerate(["1", "2", "01"])
    )
    assert _problems(content, tmp_path / "spool.csv") == [
        CsvProblem(4, SERIAL, "the serial number 01 appears more than once")
    ]


def test_more_rows_than_the_limit_is_too_large(tmp_path: Path) -> None:
    content = HEADER + "".join(f'{n},Name,"https://example.com/{n}.jpg"\n' for n in range(1, 5))
    with pytest.raises(CsvTooLarge) as raised:
        _validate(content, tmp_path / "spool.csv", IntakeLimits(max_rows=3, max_urls_per_row=5))
    assert raised.value.code == "too_many_rows"


def test_reading_stops_at_the_first_row_over_the_limit(tmp_path: Path) -> None:
    rows = [f'{n},Name,"https://example.com/{n}.jpg"\n' for n in range(1, 100_001)]
    upload = io.BytesIO((HEADER + "".join(rows)).encode())
    with pytest.raises(CsvTooLarge):
        validate_csv(upload, tmp_path / "spool.csv", IntakeLimits(max_rows=3, max_urls_per_row=5))
    # The rest (about 3.7 MB) is never read: only what the text decoder reads ahead (8 KB).
    assert upload.tell() <= len((HEADER + "".join(rows[:4])).encode()) + 8192


def test_a_line_longer_than_the_limit_is_rejected_without_reading_it_all(spool: Path) -> None:
    upload = io.BytesIO((HEADER + "1,Name," + "x" * (5 * MAX_LINE_CHARS) + "\n").encode())
    with pytest.raises(CsvRejected) as rejected:
        validate_csv(upload, spool, LIMITS)
    assert rejected.value.problems == [
        CsvProblem(2, None, f"the line is longer than {MAX_LINE_CHARS} characters")
    ]
    assert upload.tell() <= MAX_LINE_CHARS + 2 * 8192


def test_more_urls_in_a_row_than_the_limit_is_too_large(tmp_path: Path) -> None:
    urls = ",".join(f"https://example.com/{n}.jpg" for n in range(6))
    with pytest.raises(CsvTooLarge) as raised:
        _validate(HEADER + f'1,Name,"{urls}"\n', tmp_path / "spool.csv")
    assert raised.value.code == "too_many_urls"
    assert raised.value.message == "line 2 has 6 image URLs; at most 5 are allowed per row"
