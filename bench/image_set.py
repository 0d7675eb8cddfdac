"""The benchmark's image set: photo-like JPEGs, generated once from their seeds and cached."""

from __future__ import annotations

from pathlib import Path

from bench.photos import photo_like_image

WIDTH, HEIGHT = 1024, 768


def ensure_image_set(directory: Path, count: int) -> list[Path]:
    """`count` images named by seed; a cached file is reused (same seed, same bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = directory / f"{seed:05d}.jpg"
        if not path.exists():
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(photo_like_image(WIDTH, HEIGHT, seed))
            temporary.rename(path)
        paths.append(path)
    return paths
