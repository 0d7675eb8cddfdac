"""Summarise repeated aiokafka warnings and errors, so a broker outage costs lines, not megabytes.

While a broker is down, aiokafka logs every failed attempt ("Unable connect to node with id 1:
…", "Unable to update metadata from [1]"): about 150 ERROR lines a second per process, some
100 MB an hour. This filter, on the log handler, groups them by cause (a logger and a message
template, whatever its arguments) and lets through:
- the first line of a cause, as it is: the outage is logged when it starts;
- then at most one line of it per window, saying how many lines of it were not logged since its
  previous line: "… (repeated 412 times in the last 5 s)";
- once a cause has not recurred for a window, its last count; and once no cause is left, one
  line saying that the errors stopped: the recovery.
Records of other loggers, and below WARNING, pass untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

SUMMARISED_LOGGER = "aiokafka"
WINDOW_S = 5.0
# Marks the lines this filter logs itself, which it must let through.
_SUMMARY = "imgpipe_log_summary"


@dataclass
class _Cause:
    logger: str
    level: int
    message: str  # its latest occurrence, formatted
    logged_at: float  # when a line of it was last let through
    seen_at: float
    repeats: int = 0  # occurrences not logged since logged_at

    def summary(self, now: float) -> str:
        times = "time" if self.repeats == 1 else "times"
        return f"{self.message} (repeated {self.repeats} {times} in the last {now - self.logged_at:.0f} s)"


class RepeatedErrorSummary(logging.Filter):
    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._window_s = window_s
        self._clock = clock
        self._causes: dict[tuple[str, str], _Cause] = {}
        self._outage_started_at: float | None = None
        self._last_error_at = 0.0
        self._repeats = 0  # lines not logged since the outage started
        # Records are filtered on whichever thread logs them, and flushed on another.
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SUMMARY, False) or not self._summarises(record):
            return True
        now = self._clock()
        with self._lock:
            self._last_error_at = now
            cause = self._causes.get((record.name, str(record.msg)))
            if cause is None:
                self._causes[(record.name, str(record.msg))] = _Cause(
                    record.name, record.levelno, record.getMessage(), now, now
                )
                if self._outage_started_at is None:
                    self._outage_started_at = now
                return True
            cause.message, cause.seen_at = record.getMessage(), now
            if now - cause.logged_at < self._window_s:
                cause.repeats += 1
                self._repeats += 1
                return False
            if cause.repeats:
                record.msg, record.args = cause.summary(now), ()
            cause.logged_at, cause.repeats = now, 0
            return True

    def flush(self) -> None:
        """Close the causes that have not recurred for a window, logging their last counts, and
        log the end of the outage once none is left."""
        now = self._clock()
        lines: list[tuple[str, int, str]] = []
        with self._lock:
            for key, cause in list(self._causes.items()):
                if now - cause.seen_at >= self._window_s:
                    del self._causes[key]
                    if cause.repeats:
                        lines.append((cause.logger, cause.level, cause.summary(now)))
            started_at = self._outage_started_at
            if not self._causes and started_at is not None:
                if self._repeats:
                    # At WARNING, not INFO: a deployment that logs only warnings and errors
                    # still sees the outage end.
                    end = (
                        f"{SUMMARISED_LOGGER} errors stopped: none for {now - self._last_error_at:.0f} s, "
                        f"after {self._last_error_at - started_at:.0f} s of them; {self._repeats} "
                        "repeated lines were not logged"
                    )
                    lines.append((__name__, logging.WARNING, end))
                self._outage_started_at, self._repeats = None, 0
        # Logged outside the lock: these lines come back through filter().
        for name, level, message in lines:
            logging.getLogger(name).log(level, message, extra={_SUMMARY: True})

    def flush_every(self, interval_s: float) -> None:
        """Flush forever (a daemon thread's job): the recovery is logged even if nothing else is."""
        while True:
            time.sleep(interval_s)
            self.flush()

    def _summarises(self, record: logging.LogRecord) -> bool:
        in_scope = record.name == SUMMARISED_LOGGER or record.name.startswith(f"{SUMMARISED_LOGGER}.")
        return in_scope and record.levelno >= logging.WARNING
