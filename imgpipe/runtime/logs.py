"""One log format for every service: JSON lines on stderr, with the request id wherever known.

Code that works on a request runs inside `logging_request(request_id)`; every line logged
meanwhile (by imgpipe, Faust, aiokafka or uvicorn) carries `"request_id"`, so one grep follows a
request through all services. Repeated aiokafka errors are summarised (imgpipe/runtime/log_summary.py).
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from imgpipe.runtime.log_summary import RepeatedErrorSummary

_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


@contextmanager
def logging_request(request_id: str) -> Iterator[None]:
    token = _current_request_id.set(request_id)
    try:
        yield
    finally:
        _current_request_id.reset(token)


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _current_request_id.get()
        if request_id is not None:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


@functools.cache
def _aiokafka_error_summary() -> RepeatedErrorSummary:
    """One per process, flushed by a daemon thread every second."""
    summary = RepeatedErrorSummary()
    threading.Thread(target=summary.flush_every, args=(1.0,), name="log-summary", daemon=True).start()
    return summary


def configure_logging(log_level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLineFormatter())
    # On the handler, not on the aiokafka loggers: a logger's filters do not see the records
    # of its child loggers (aiokafka.conn, aiokafka.consumer.…), which reach the handler.
    handler.addFilter(_aiokafka_error_summary())
    logging.basicConfig(level=log_level.upper(), handlers=[handler], force=True)
