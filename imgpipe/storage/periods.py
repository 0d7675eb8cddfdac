"""Periods of time of a fixed length: what is kept by period is deleted a whole period at a time.

Period `index` of length L covers [index * L, (index + 1) * L) seconds since the Unix epoch, so any
process on any host names the same period for the same moment (give or take its clock). Outputs
are stored by period of their requests' retention (imgpipe/storage/output_periods.py); the source cache's
entries and the upload rate's slots are kept in a collection per period (imgpipe/state/database.py's
`PeriodCollections`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self


def period_length(seconds: float) -> int:
    """Periods are whole seconds long, and never of no length."""
    return max(1, round(seconds))


@dataclass(frozen=True, order=True)
class Period:
    length_s: int
    index: int

    @classmethod
    def at(cls, length_s: float, moment: datetime) -> Self:
        length = period_length(length_s)
        return cls(length, math.floor(moment.timestamp() / length))

    @property
    def previous(self) -> Self:
        return type(self)(self.length_s, self.index - 1)

    @property
    def ends_at(self) -> datetime:
        return datetime.fromtimestamp((self.index + 1) * self.length_s, UTC)

    @property
    def next_ends_at(self) -> datetime:
        """When the period after this one ends: what is kept for a period's length from a moment
        in this one is out of use by then."""
        return datetime.fromtimestamp((self.index + 2) * self.length_s, UTC)
