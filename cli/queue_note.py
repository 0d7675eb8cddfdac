"""One line on where a running request stands, from the `queue` of its status (docs/api.md)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any


def time_left(seconds: float) -> str:
    """Rounded as a person would say it: the estimate follows the pace of the last few seconds."""
    if seconds < 90:
        return f"{max(1, math.ceil(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def queue_note(queue: dict[str, Any] | None, now: datetime) -> str | None:
    """`48 rows ahead · 19,950 rows not started · about 2 min left`; None once it has finished."""
    if queue is None:
        return None
    parts = [f"{queue['rows_ahead']:,} rows ahead"]
    if queue["rows_waiting"]:
        parts.append(f"{queue['rows_waiting']:,} rows not started")
    if queue["estimated_finish_at"]:
        finish_at = datetime.fromisoformat(queue["estimated_finish_at"])
        parts.append(f"about {time_left((finish_at - now).total_seconds())} left")
    return " · ".join(parts)
