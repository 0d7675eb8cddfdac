"""Output periods: where outputs are stored so that they can be deleted a whole prefix at a time.

An output is shared by every request of its owner that produced the same content, so no request
can delete it alone, and a record per output and request would cost a database write per image.
Instead, outputs are kept by period: an output made (or reused) at time t by a request kept r
seconds is stored under `outputs/<r>/<t // r>/`, the period of length r that t falls in. Within a
period an output is stored once and shared; a request reusing an output of the period before gets
a copy (a server-side copy on S3, a hard link on files), never a second compression.

A period's prefix is deleted whole once no request can still use it (aggregator/output_expiry.py):
every request unfinished during the period has finished, and one retention r has passed since, so
each of them has expired. An output therefore outlives its last request by at most one period,
and an output reused every day is stored at most twice (this period's and the last one's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from imgpipe.contract.presets import OutputFormat
from imgpipe.storage.periods import Period

OUTPUTS_PREFIX = "outputs"
# How far the clocks of the gateways (which time a request's acceptance) and of the processors
# (which time a row's period) may disagree: a period is not taken as out of use before then.
WRITES_SETTLE = timedelta(seconds=30)

_PERIOD_PREFIX = re.compile(rf"{OUTPUTS_PREFIX}/([1-9][0-9]{{0,9}})/([0-9]{{1,12}})")


@dataclass(frozen=True, order=True)
class OutputPeriod(Period):
    """A period as long as the retention of the requests whose outputs it holds."""

    @classmethod
    def parse(cls, prefix: str) -> OutputPeriod | None:
        """The period of a prefix `outputs/<retention>/<index>`, or None for any other string."""
        match = _PERIOD_PREFIX.fullmatch(prefix.strip("/"))
        return None if match is None else cls(int(match.group(1)), int(match.group(2)))

    @property
    def prefix(self) -> str:
        return f"{OUTPUTS_PREFIX}/{self.length_s}/{self.index}"

    def image_key(self, content_name: str, output_format: OutputFormat = OutputFormat.JPEG) -> str:
        # Fanned out by the name's first two hex digits: ext4 without `large_dir` stops a directory
        # at about 10 million names.
        return f"{self.prefix}/{content_name[:2]}/{content_name}.{output_format.extension}"

    @property
    def expires_at(self) -> datetime:
        """The earliest its outputs are deleted: a retention after the period ends."""
        return self.next_ends_at

    def expired_by(self, moment: datetime) -> bool:
        """Whether its outputs may have been deleted by `moment`: a missing output of such a
        period expired (410); of a younger one, it never was (404)."""
        return self.expires_at <= moment
