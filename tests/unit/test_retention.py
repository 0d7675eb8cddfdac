"""The pure rules of retention: when a request expires, which bucket of the expiry queue holds
it, which period an output is stored in, and when a period is out of use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aggregator.output_expiry import drained, oldest_unfinished
from imgpipe.config.settings import Settings
from imgpipe.state.database import RequestDocument
from imgpipe.state.expiry_queue import BUCKET_S, SETTLED_BUCKETS, bucket_of, last_settled_bucket
from imgpipe.state.retention import DAY_S, expiry_of
from imgpipe.storage.output_periods import WRITES_SETTLE, OutputPeriod

T0 = datetime(2026, 12, 6, 3, 0, 0, tzinfo=UTC)


def _request(created_at: datetime, retention_s: float | None) -> RequestDocument:
    document: dict[str, Any] = {"_id": "r", "created_at": created_at}
    if retention_s is not None:
        document["retention_s"] = retention_s
    return cast(RequestDocument, document)


def test_a_request_expires_its_own_retention_after_it_finished_to_the_millisecond() -> None:
    settings = Settings(retention_days=30)
    finished = T0 + timedelta(microseconds=123_456)
    assert expiry_of(_request(T0, 60.0), finished, settings) == T0 + timedelta(seconds=60, milliseconds=123)
    # Accepted before retention existed: the setting's.
    assert expiry_of(_request(T0, None), T0, settings) == T0 + timedelta(days=30)


def test_an_entry_is_read_only_once_its_bucket_has_settled() -> None:
    assert bucket_of(T0) == T0.timestamp() // BUCKET_S
    assert bucket_of(T0 + timedelta(seconds=BUCKET_S - 0.001)) == bucket_of(T0)
    assert last_settled_bucket(T0) == bucket_of(T0) - SETTLED_BUCKETS


def test_an_output_period_is_its_retention_long_and_named_by_its_prefix() -> None:
    period = OutputPeriod.at(30 * DAY_S, T0)
    assert period.length_s == 2_592_000 and period.index == int(T0.timestamp()) // 2_592_000
    assert period.prefix == f"outputs/2592000/{period.index}"
    assert period.image_key("ab" + "0" * 62) == f"{period.prefix}/ab/ab{'0' * 62}.jpg"
    assert OutputPeriod.parse(period.prefix + "/") == period
    assert period.previous.ends_at == datetime.fromtimestamp(period.index * 2_592_000, UTC)
    assert OutputPeriod.at(0.2, T0).length_s == 1  # never a period of no length
    for foreign in ("outputs/0/5", "outputs/12", "images/ab", "outputs/12/x", "outputs/12/3/ab"):
        assert OutputPeriod.parse(foreign) is None


def test_a_missing_output_expired_only_once_its_period_could_have_been_deleted() -> None:
    period = OutputPeriod.at(60, T0)
    assert not period.expired_by(period.ends_at + timedelta(seconds=59))
    assert period.expired_by(period.ends_at + timedelta(seconds=60))


def test_a_period_is_out_of_use_once_every_request_in_flight_of_its_retention_came_after_it() -> None:
    period = OutputPeriod.at(60, T0)
    settings = Settings()
    after = period.ends_at + WRITES_SETTLE
    in_flight = [_request(after, 60), _request(after - timedelta(seconds=1), 3600)]
    oldest = oldest_unfinished(in_flight, settings)
    assert oldest == {60: after, 3600: after - timedelta(seconds=1)}
    assert drained(period, oldest, now=after + timedelta(hours=1))
    # One request in flight of its retention accepted before it ended (give or take the clocks):
    # that request may use the period still.
    assert not drained(
        period, oldest_unfinished([_request(after - timedelta(seconds=1), 60)], settings), after
    )
    # Nothing in flight: out of use once it has ended and the clocks have settled.
    assert not drained(period, {}, now=after - timedelta(seconds=1))
    assert drained(period, {}, now=after)
