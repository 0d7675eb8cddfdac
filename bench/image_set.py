"""The benchmarks' image sets: photo-like JPEGs, generated once from their seeds and cached."""

from __future__ import annotations

from pathlib import Path

from devstack.paths import ROOT
from tests.support.photos import photo_like_image

CACHE = ROOT / ".local" / "bench"  # generated images and CSVs, reused by every run
WIDTH, HEIGHT = 1024, 768


def ensure_image_set(directory: Path, count: int, width: int = WIDTH, height: int = HEIGHT) -> list[Path]:
    """`count` images named by seed; a cached file is reused (same seed and size, same bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = directory / f"{seed:05d}.jpg"
        if not path.exists():
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(photo_like_image(width, height, seed))
            temporary.rename(path)
        paths.append(path)
    return paths
