"""What a directory holds on disk: its files' bytes and their number, read while it may change."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DiskUsage:
    bytes: int
    files: int


def disk_usage(directory: Path) -> DiskUsage:
    sizes = []
    for folder, _, names in os.walk(directory):
        for name in names:
            try:
                sizes.append(os.stat(Path(folder) / name).st_size)
            except FileNotFoundError:
                continue  # deleted while walked
    return DiskUsage(sum(sizes), len(sizes))
