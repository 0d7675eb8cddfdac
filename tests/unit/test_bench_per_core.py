"""The per-core limit: every item is worked on exactly once, split over the processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.per_core import items_per_s


@dataclass(frozen=True)
class _MarkingJob:
    """Touches one file per item, named by the item and the process that worked on it."""

    directory: Path

    def prepare(self, share: Sequence[str]) -> Callable[[], object]:
        def mark_all() -> None:
            for item in share:
                (self.directory / f"{item}.{os.getpid()}").touch()

        return mark_all


def test_every_item_is_worked_once_by_one_of_the_processes(tmp_path: Path) -> None:
    items = [f"item{number}" for number in range(10)]

    rate = items_per_s(_MarkingJob(tmp_path), items, processes=2)

    marks = [path.name.rsplit(".", 1) for path in tmp_path.iterdir()]
    assert sorted(item for item, _ in marks) == sorted(items)
    assert len({pid for _, pid in marks}) == 2  # both processes had a share
    assert rate > 0
