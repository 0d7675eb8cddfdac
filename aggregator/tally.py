"""Exactly-once counting over at-least-once delivery, as a pure function.

Results arrive at least once. A row's document is created by the first result that reaches the
aggregator for it (first writer wins) and remembers that result's offset. The request document
remembers the highest results offset already counted. A result therefore moves the counters
only if it is the one that finished its row *and* its offset is above the counted mark: a
duplicate result fails the first test, a result redelivered after a crash between the two
writes passes both, and one redelivered after both writes fails the second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from imgpipe.messages import RowResult
from imgpipe.row_outcomes import row_id


@dataclass(frozen=True)
class OffsetResult:
    offset: int
    result: RowResult


@dataclass(frozen=True)
class Tally:
    rows_done: int = 0
    rows_failed: int = 0
    images_done: int = 0
    images_failed: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.rows_done + other.rows_done,
            self.rows_failed + other.rows_failed,
            self.images_done + other.images_done,
            self.images_failed + other.images_failed,
        )

    def as_increments(self) -> dict[str, int]:
        return {
            "rows_done": self.rows_done,
            "rows_failed": self.rows_failed,
            "images_done": self.images_done,
            "images_failed": self.images_failed,
        }


def tally_new_results(
    results: Sequence[OffsetResult], finishing_offsets: Mapping[str, int], counted_offset: int
) -> Tally:
    """Counts of the results that finished their row and are not yet counted.

    `finishing_offsets` maps each row id to the offset of the result that finished it.
    """
    rows_done = rows_failed = images_done = images_failed = 0
    for item in results:
        result = item.result
        if item.offset <= counted_offset:
            continue
        if finishing_offsets.get(row_id(result.request_id, result.row)) != item.offset:
            continue
        failed = result.failed_images
        images_failed += failed
        images_done += len(result.images) - failed
        if result.failed:
            rows_failed += 1
        else:
            rows_done += 1
    return Tally(rows_done, rows_failed, images_done, images_failed)
