"""gateway.publishing.row_batches.row_partition: a row's partition follows its URLs, and rows spread."""

from __future__ import annotations

from collections import Counter

from gateway.publishing.row_batches import row_partition
from imgpipe.contract.messages import RowMessage

PARTITIONS = [0, 1, 2, 3, 4, 5]


def _row(request_id: str, row: int, urls: list[str]) -> RowMessage:
    return RowMessage(
        request_id=request_id,
        row=row,
        serial_number=str(row + 1),
        product_name=f"Product {row}",
        input_urls=urls,
        quality=50,
        owner=None,
    )


def test_the_same_row_uploaded_again_goes_to_the_same_partition_wherever_it_stands() -> None:
    urls = ["https://example.com/a.jpg", "https://example.com/b.jpg"]
    first, again = _row("first", 0, urls), _row("again", 7, urls)
    assert row_partition(first, PARTITIONS) == row_partition(again, PARTITIONS)


def test_one_image_requests_spread_over_every_partition() -> None:
    rows = [_row(f"request-{n}", 0, [f"https://example.com/{n}.jpg"]) for n in range(600)]
    counts = Counter(row_partition(row, PARTITIONS) for row in rows)
    assert set(counts) == set(PARTITIONS)
    assert max(counts.values()) < 2 * min(counts.values())
