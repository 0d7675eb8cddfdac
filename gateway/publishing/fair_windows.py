"""How many rows each request may have published and unfinished: the scheduler's pure core.

The deployment keeps at most `total` rows in `imgpipe.rows` that are not finished yet, and shares
them out by max-min fairness: first between owners (API keys, or everyone together when the API
is open) in proportion to their weights, then between an owner's requests, smaller ones first in
measure: a request weighs one more for each halving of its rows left against the owner's largest
(`size_weight`). Equal requests share equally; a 1,000-row request beside a 20,000-row batch of its
own key gets about five sixths, so it takes little more than its time alone, and the batch still
moves. An owner or a request that needs less than its share gets what it needs, and the rest is
shared out again among the others (water-filling). Since every row takes about as long, what an
owner keeps in the topic is its share of the rows finished per second (Little's law), and a new
request waits behind at most `total` rows, however large the batches before it.

Every request that still has rows to publish gets a window of at least one row, so none starves:
an owner with more requests than `total` rows has more than its share published and
unfinished (docs/architecture.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

Name = TypeVar("Name", bound=Hashable)


@dataclass(frozen=True)
class Demand:
    """A request being published: who owns it, and how many rows it could use in the topic now."""

    request_id: str
    owner: str | None
    weight: float
    # Rows in the topic unfinished plus rows not yet published.
    rows: int


def water_fill(
    capacity: float, demands: Mapping[Name, float], weights: Mapping[Name, float]
) -> dict[Name, float]:
    """Share `capacity` in proportion to `weights`, giving no one more than its demand; what a
    small demand leaves is shared again among the others."""
    shares = {name: 0.0 for name in demands}
    hungry = {name for name, demand in demands.items() if demand > 0}
    left = capacity
    while hungry and left > 1e-9:
        weight_sum = sum(weights[name] for name in hungry)
        per_weight = left / weight_sum
        sated = {name for name in hungry if demands[name] - shares[name] <= per_weight * weights[name]}
        if not sated:
            for name in hungry:
                shares[name] += per_weight * weights[name]
            break
        for name in sated:
            left -= demands[name] - shares[name]
            shares[name] = demands[name]
        hungry -= sated
    return shares


def size_weight(rows: int, largest: int) -> float:
    """A request's weight among its owner's: 1 for the largest, one more for each halving."""
    return 1.0 + math.log2(largest / max(rows, 1))


def fair_windows(total: int, demands: Iterable[Demand]) -> dict[str, int]:
    """Each request's window: rows it may have in the topic unfinished, at least one."""
    by_owner: dict[str | None, list[Demand]] = defaultdict(list)
    for demand in demands:
        by_owner[demand.owner].append(demand)
    owner_shares = water_fill(
        total,
        {owner: sum(request.rows for request in requests) for owner, requests in by_owner.items()},
        {owner: requests[0].weight for owner, requests in by_owner.items()},
    )
    windows = {}
    for owner, requests in by_owner.items():
        largest = max(max(request.rows, 1) for request in requests)
        request_shares = water_fill(
            owner_shares[owner],
            {request.request_id: request.rows for request in requests},
            {request.request_id: size_weight(request.rows, largest) for request in requests},
        )
        for request_id, share in request_shares.items():
            windows[request_id] = max(1, math.ceil(share))
    return windows
