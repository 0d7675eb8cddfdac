"""gateway.publishing.fair_windows: how the rows the topic may hold unfinished are shared between keys
and requests."""

from __future__ import annotations

import pytest

from gateway.publishing.fair_windows import Demand, fair_windows, water_fill


def test_a_lone_batch_gets_the_whole_total() -> None:
    assert fair_windows(64, [Demand("batch", "a", 1.0, 50_000)]) == {"batch": 64}


def test_two_equal_keys_get_half_each() -> None:
    windows = fair_windows(64, [Demand("a1", "a", 1.0, 20_000), Demand("b1", "b", 1.0, 20_000)])
    assert windows == {"a1": 32, "b1": 32}


def test_weights_share_in_proportion() -> None:
    windows = fair_windows(100, [Demand("shop", "s", 4.0, 20_000), Demand("sync", "n", 1.0, 20_000)])
    assert windows == {"shop": 80, "sync": 20}


def test_a_small_request_takes_what_it_needs_and_the_batch_keeps_the_rest() -> None:
    windows = fair_windows(64, [Demand("batch", "a", 1.0, 50_000), Demand("one", "b", 1.0, 1)])
    assert windows == {"batch": 63, "one": 1}


def test_within_a_key_equal_requests_share_equally() -> None:
    windows = fair_windows(64, [Demand("one", "a", 1.0, 20_000), Demand("two", "a", 1.0, 20_000)])
    assert windows == {"one": 32, "two": 32}


def test_within_a_key_a_smaller_request_weighs_one_more_per_halving() -> None:
    # The key's half of 60 rows: the 10,000-row request weighs 3 (two halvings), the batch 1.
    windows = fair_windows(
        60,
        [Demand("big", "a", 1.0, 40_000), Demand("mid", "a", 1.0, 10_000), Demand("other", "b", 1.0, 9_000)],
    )
    assert windows == {"big": 8, "mid": 23, "other": 30}


def test_the_size_weight_does_not_cross_keys() -> None:
    windows = fair_windows(64, [Demand("big", "a", 1.0, 40_000), Demand("mid", "b", 1.0, 10_000)])
    assert windows == {"big": 32, "mid": 32}


def test_the_open_api_is_one_owner_whose_requests_share() -> None:
    windows = fair_windows(64, [Demand("batch", None, 1.0, 50_000), Demand("small", None, 1.0, 5)])
    assert windows == {"batch": 59, "small": 5}


def test_every_request_gets_at_least_one_row() -> None:
    demands = [Demand(f"r{n}", "a", 1.0, 100) for n in range(10)]
    assert set(fair_windows(4, demands).values()) == {1}


@pytest.mark.parametrize("capacity", [0.0, 7.0, 1000.0])
def test_water_fill_never_gives_more_than_demanded_nor_more_than_the_capacity(capacity: float) -> None:
    demands = {"x": 3.0, "y": 50.0, "z": 500.0}
    shares = water_fill(capacity, demands, {"x": 1.0, "y": 2.0, "z": 1.0})
    assert all(shares[name] <= demands[name] + 1e-9 for name in demands)
    assert sum(shares.values()) == pytest.approx(min(capacity, sum(demands.values())))
