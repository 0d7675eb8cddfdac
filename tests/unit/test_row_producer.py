"""imgpipe.storage.row_producer: a row's partition follows its URLs, and rows spread; a request's
spooled rows become their messages."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from imgpipe.contract.messages import RowMessage
from imgpipe.storage.file import FileStorage
from imgpipe.storage.input_spool import InputSpoolWriter, ProductRow, store_input_spool
from imgpipe.storage.row_producer import RowContext, row_partition, spooled_row_messages

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


async def test_spooled_rows_become_their_messages_from_a_row_on_or_only_those_asked_for(
    tmp_path: Path,
) -> None:
    path = tmp_path / "input.csv"
    writer = InputSpoolWriter(path)
    for n in range(5):
        writer.write(ProductRow(str(n + 1), f"Product {n}", (f"https://example.com/{n}.jpg",)))
    writer.close()
    storage = FileStorage(tmp_path / "store", "http://gateway.test")
    await store_input_spool(storage, "request-1", path)
    context = RowContext(quality=70, owner="owner-1", retention_s=86400.0)

    from_row_2 = [message async for message in spooled_row_messages(storage, "request-1", context, 2)]
    assert [(m.row, m.serial_number, m.input_urls) for m in from_row_2] == [
        (n, str(n + 1), [f"https://example.com/{n}.jpg"]) for n in (2, 3, 4)
    ]
    assert {(m.request_id, m.quality, m.owner, m.retention_s) for m in from_row_2} == {
        ("request-1", 70, "owner-1", 86400.0)
    }
    only = spooled_row_messages(storage, "request-1", context, only={0, 3})
    assert [message.row async for message in only] == [0, 3]
