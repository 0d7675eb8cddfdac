"""imgpipe.runtime.log_summary.RepeatedErrorSummary on a fake clock: the exact lines a broker outage leaves.

The filter sits on a handler of the root logger that collects what it would write; flush() is
called every second, as the daemon thread that imgpipe.runtime.logs.configure_logging starts does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from imgpipe.config.settings import Settings
from imgpipe.runtime.log_summary import RepeatedErrorSummary
from imgpipe.runtime.logs import configure_logging

CONNECT = "Unable connect to node with id %s: %s"
METADATA = "Unable to update metadata from %s"
REFUSED = "[Errno 111] Connect call failed ('127.0.0.1', 9092)"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelname, record.name, record.getMessage()))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lines(clock: FakeClock) -> Iterator[Lines]:
    handler = Lines()
    handler.addFilter(RepeatedErrorSummary(window_s=5.0, clock=clock))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def flush(handler: Lines) -> None:
    for summary in handler.filters:
        assert isinstance(summary, RepeatedErrorSummary)
        summary.flush()


def broker_down(clock: FakeClock, handler: Lines, seconds: float) -> None:
    """What aiokafka logs while the broker is down: a failed connection every 0.25 s and a
    failed metadata update every 0.5 s, from now for `seconds`; flushed every second meanwhile."""
    start = clock.now
    for step in range(int(seconds / 0.25) + 1):
        clock.now = start + step * 0.25
        logging.getLogger("aiokafka").error(CONNECT, 1, REFUSED)
        if step % 2 == 0:
            logging.getLogger("aiokafka").error(METADATA, [1])
        if step % 4 == 0:
            flush(handler)


def quiet(clock: FakeClock, handler: Lines, seconds: float) -> None:
    """Nothing logged for `seconds`, flushed every second."""
    for _ in range(int(seconds)):
        clock.now += 1.0
        flush(handler)


def test_a_13_s_outage_is_9_lines_instead_of_80(clock: FakeClock, lines: Lines) -> None:
    broker_down(clock, lines, seconds=13.0)  # 53 connection errors and 27 metadata errors
    quiet(clock, lines, seconds=20.0)

    connect = f"Unable connect to node with id 1: {REFUSED}"
    metadata = "Unable to update metadata from [1]"
    assert lines.lines == [
        ("ERROR", "aiokafka", connect),  # t = 0: the outage starts
        ("ERROR", "aiokafka", metadata),
        ("ERROR", "aiokafka", f"{connect} (repeated 19 times in the last 5 s)"),  # t = 5
        ("ERROR", "aiokafka", f"{metadata} (repeated 9 times in the last 5 s)"),
        ("ERROR", "aiokafka", f"{connect} (repeated 19 times in the last 5 s)"),  # t = 10
        ("ERROR", "aiokafka", f"{metadata} (repeated 9 times in the last 5 s)"),
        ("ERROR", "aiokafka", f"{connect} (repeated 12 times in the last 8 s)"),  # t = 18: quiet for 5 s
        ("ERROR", "aiokafka", f"{metadata} (repeated 6 times in the last 8 s)"),
        (
            "WARNING",
            "imgpipe.runtime.log_summary",
            "aiokafka errors stopped: none for 5 s, after 13 s of them; 74 repeated lines were not logged",
        ),
    ]


def test_a_second_outage_is_logged_from_its_start_again(clock: FakeClock, lines: Lines) -> None:
    broker_down(clock, lines, seconds=2.0)
    quiet(clock, lines, seconds=10.0)
    first_outage = len(lines.lines)
    broker_down(clock, lines, seconds=2.0)
    quiet(clock, lines, seconds=10.0)

    assert lines.lines[first_outage:] == lines.lines[:first_outage]
    assert [message for _, _, message in lines.lines[:first_outage]] == [
        f"Unable connect to node with id 1: {REFUSED}",
        "Unable to update metadata from [1]",
        f"Unable connect to node with id 1: {REFUSED} (repeated 8 times in the last 7 s)",
        "Unable to update metadata from [1] (repeated 4 times in the last 7 s)",
        "aiokafka errors stopped: none for 5 s, after 2 s of them; 12 repeated lines were not logged",
    ]


def test_a_cause_is_its_template_and_the_last_arguments_are_shown(clock: FakeClock, lines: Lines) -> None:
    for node in range(1, 8):
        logging.getLogger("aiokafka").error(CONNECT, node, REFUSED)
        clock.now += 1.0
    quiet(clock, lines, seconds=20.0)

    assert [message for _, _, message in lines.lines] == [
        f"Unable connect to node with id 1: {REFUSED}",
        f"Unable connect to node with id 6: {REFUSED} (repeated 4 times in the last 5 s)",
        f"Unable connect to node with id 7: {REFUSED} (repeated 1 time in the last 6 s)",
        "aiokafka errors stopped: none for 5 s, after 6 s of them; 5 repeated lines were not logged",
    ]


def test_an_error_that_does_not_repeat_is_one_line(clock: FakeClock, lines: Lines) -> None:
    logging.getLogger("aiokafka.conn").error("Unexpected exception in AIOKafkaConnection")
    quiet(clock, lines, seconds=20.0)
    assert lines.lines == [("ERROR", "aiokafka.conn", "Unexpected exception in AIOKafkaConnection")]


def test_other_loggers_and_lower_levels_pass_untouched(clock: FakeClock, lines: Lines) -> None:
    for _ in range(10):
        logging.getLogger("imgpipe.runtime.kafka").error(CONNECT, 1, REFUSED)
        logging.getLogger("aiokafkaesque").error(CONNECT, 1, REFUSED)
        logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group")
        clock.now += 0.25
    assert len(lines.lines) == 30


def test_configure_logging_puts_the_summary_on_its_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    configured: dict[str, Any] = {}
    monkeypatch.setattr(logging, "basicConfig", lambda **arguments: configured.update(arguments))
    configure_logging(Settings().log_level)
    (handler,) = configured["handlers"]
    assert [type(log_filter) for log_filter in handler.filters] == [RepeatedErrorSummary]
