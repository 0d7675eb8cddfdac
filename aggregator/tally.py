"""Exactly-once counting over at-least-once delivery, as a pure function.

Results arrive at least once. A row's document is created by the first result that reaches the
aggregator for it (first writer wins) and remembers that result's offset. The request document
remembers the highest results offset already counted. A result therefore moves the counters
only if it is the one that finished its row *and* its offset is above the counted mark: a
duplicate result fails the first test, a result redelivered after a crash between the two
writes passes both, and one redelivered after both writes fails the second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from imgpipe.contract.messages import NO_COUNTS, Counters, RowResult
from imgpipe.contract.row_key import RowKey
from imgpipe.state.row_outcomes import RowOutcome, RowState


@dataclass(frozen=True)
class OffsetResult:
    offset: int
    result: RowResult


def tally_of_row(images: int, failed_images: int, row_failed: bool) -> Counters:
    """What one finished row adds to the counters: the one rule both counts below follow."""
    return Counters(
        rows_done=0 if row_failed else 1,
        rows_failed=1 if row_failed else 0,
        images_done=images - failed_images,
        images_failed=failed_images,
    )


def tally_new_results(
    results: Sequence[OffsetResult], finishing_offsets: Mapping[RowKey, int], counted_offset: int
) -> Counters:
    """Counts of the results that finished their row and are not yet counted.

    `finishing_offsets` maps each row to the offset of the result that finished it.
    """
    counted = (
        item.result
        for item in results
        if item.offset > counted_offset
        and finishing_offsets.get(RowKey(item.result.request_id, item.result.row)) == item.offset
    )
    return sum(
        (tally_of_row(len(result.images), result.failed_images, result.failed) for result in counted),
        NO_COUNTS,
    )


def tally_of_rows(outcomes: Iterable[RowOutcome]) -> Counters:
    """The counters that stored row outcomes add up to (aggregator/result_store.py writes them):
    what the repair recomputes a stalled request's counters from."""
    return sum(
        (
            tally_of_row(
                len(outcome.images),
                sum(1 for image in outcome.images if image.error is not None),
                outcome.status is RowState.FAILED,
            )
            for outcome in outcomes
        ),
        NO_COUNTS,
    )
