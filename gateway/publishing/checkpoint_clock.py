"""When the row publisher records a checkpoint: once every interval of publishing.

A gateway killed mid-publishing sends again every row after its last checkpoint, so the time
between checkpoints bounds what a restart re-sends. A row count would bound it only at a known
rate: 20,000 rows are a third of a second at full speed but many seconds on a slow broker, and a
request smaller than the count is never checkpointed before its end (a kill test re-sent 11,670
rows with the checkpoint still at 0). Each checkpoint costs a wait for the broker's
acknowledgements and a database write; an interval of a second keeps that rare.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class CheckpointClock:
    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval_s = interval_s
        self._clock = clock
        self._last = clock()

    def due(self) -> bool:
        """Whether `interval_s` has passed since the start or the last checkpoint."""
        return self._clock() - self._last >= self._interval_s

    def checkpointed(self) -> None:
        """A checkpoint was just recorded: the next one is due an interval from now."""
        self._last = self._clock()
