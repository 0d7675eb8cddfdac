"""aggregator.tally: each finished row is counted exactly once; and the count from stored rows, which
the repair uses, agrees with it."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.result_store import row_outcome
from aggregator.tally import OffsetResult, tally_new_results, tally_of_rows
from imgpipe.contract.messages import NO_COUNTS, Counters, ErrorCode, ImageError, ImageOutcome, RowResult
from imgpipe.contract.row_key import RowKey

REQUEST = "req-1"


def _ok(n: int) -> ImageOutcome:
    return ImageOutcome(input_url=f"https://a/{n}.jpg", output_url=f"http://o/{n}.jpg")


def _failed(n: int) -> ImageOutcome:
    return ImageOutcome(
        input_url=f"https://a/{n}.jpg",
        error=ImageError(code=ErrorCode.HTTP_ERROR, message="HTTP 404"),
    )


def _result(row: int, images: list[ImageOutcome], request_id: str = REQUEST) -> RowResult:
    return RowResult(request_id=request_id, row=row, images=images, worker_id="w1", duration_ms=12.5)


def test_fresh_result_is_counted() -> None:
    results = [OffsetResult(10, _result(0, [_ok(1), _ok(2)]))]

    tally = tally_new_results(results, {RowKey(REQUEST, 0): 10}, counted_offset=9)

    assert tally == Counters(rows_done=1, rows_failed=0, images_done=2, images_failed=0)


def test_duplicate_result_for_the_same_row_is_not_counted() -> None:
    first = OffsetResult(10, _result(0, [_ok(1), _ok(2)]))
    duplicate = OffsetResult(14, _result(0, [_ok(1), _ok(2)]))

    tally = tally_new_results([first, duplicate], {RowKey(REQUEST, 0): 10}, counted_offset=-1)

    assert tally == Counters(rows_done=1, rows_failed=0, images_done=2, images_failed=0)


def test_duplicate_arriving_alone_is_not_counted() -> None:
    duplicate = OffsetResult(14, _result(0, [_ok(1)]))

    tally = tally_new_results([duplicate], {RowKey(REQUEST, 0): 10}, counted_offset=9)

    assert tally == NO_COUNTS


def test_result_at_or_below_counted_offset_is_not_counted() -> None:
    finishing = {RowKey(REQUEST, 0): 20, RowKey(REQUEST, 1): 19, RowKey(REQUEST, 2): 21}
    results = [
        OffsetResult(20, _result(0, [_ok(1)])),  # == counted_offset
        OffsetResult(19, _result(1, [_ok(2)])),  # below
        OffsetResult(21, _result(2, [_ok(3), _ok(4)])),  # above: the only one counted
    ]

    tally = tally_new_results(results, finishing, counted_offset=20)

    assert tally == Counters(rows_done=1, rows_failed=0, images_done=2, images_failed=0)


def test_row_with_a_failed_image_counts_as_failed_and_splits_images() -> None:
    results = [OffsetResult(5, _result(3, [_ok(1), _failed(2), _ok(3)]))]

    tally = tally_new_results(results, {RowKey(REQUEST, 3): 5}, counted_offset=0)

    assert tally == Counters(rows_done=0, rows_failed=1, images_done=2, images_failed=1)


def test_result_of_an_unrecorded_row_is_not_counted() -> None:
    results = [OffsetResult(5, _result(3, [_ok(1)]))]

    assert tally_new_results(results, {}, counted_offset=0) == NO_COUNTS


def test_mixed_batch_across_requests() -> None:
    results = [
        OffsetResult(1, _result(0, [_ok(1), _ok(2)], "req-a")),
        OffsetResult(2, _result(0, [_failed(3)], "req-b")),  # same row number, other request
        OffsetResult(3, _result(1, [_failed(4), _failed(5), _ok(6)], "req-a")),
        OffsetResult(4, _result(0, [_ok(1), _ok(2)], "req-a")),  # duplicate of offset 1
    ]
    finishing = {RowKey("req-a", 0): 1, RowKey("req-b", 0): 2, RowKey("req-a", 1): 3}

    tally = tally_new_results(results, finishing, counted_offset=0)

    assert tally == Counters(rows_done=1, rows_failed=2, images_done=3, images_failed=3)
    assert tally.counts() == {
        "rows_done": 1,
        "rows_failed": 2,
        "images_done": 3,
        "images_failed": 3,
    }


def test_repair_rebuilds_from_stored_rows_what_incremental_counting_counts() -> None:
    results = [
        OffsetResult(20, _result(0, [_ok(1), _ok(2)])),
        OffsetResult(21, _result(1, [_ok(3), _failed(4)])),
        OffsetResult(22, _result(2, [_failed(5)])),
        OffsetResult(23, _result(3, [_ok(6)])),
    ]
    finishing = {RowKey(REQUEST, item.result.row): item.offset for item in results}
    stored_rows = [row_outcome(item, datetime.now(UTC).isoformat()) for item in results]

    rebuilt = tally_of_rows(stored_rows)

    assert rebuilt == tally_new_results(results, finishing, counted_offset=-1)
    assert rebuilt == Counters(rows_done=2, rows_failed=2, images_done=4, images_failed=2)
