"""Images per second: Pillow alone on every core (the limit), and the whole pipeline.

The limit does what a processor does to an image and nothing else (bench/per_core.py's
`recompress`: the same decode, colour handling and encode settings), in one process per core, as
the pipeline's workers are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.client import product_csv, time_to_completed
from bench.image_server import fresh_urls
from bench.per_core import items_per_s, recompress
from imgpipe.config.settings import Settings

WARM_UP_IMAGES = 20
IMAGES_PER_ROW = 5  # the throughput CSV's URLs per row


@dataclass(frozen=True)
class _Recompressing:
    settings: Settings

    def prepare(self, share: Sequence[Path]) -> Callable[[], object]:
        images = [path.read_bytes() for path in share]
        # The first images pay for codec set-up and page faults, which the pipeline, warmed up
        # beforehand, does not.
        self._recompress_all(images[:WARM_UP_IMAGES])
        return lambda: self._recompress_all(images)

    def _recompress_all(self, images: Sequence[bytes]) -> None:
        for data in images:
            recompress(data, self.settings)


def raw_images_per_s(image_paths: Sequence[Path], settings: Settings, processes: int) -> float:
    """Every image decoded and re-encoded, by `processes` processes together."""
    return items_per_s(_Recompressing(settings), image_paths, processes)


def rows_of(urls: Sequence[str], images_per_row: int) -> list[Sequence[str]]:
    return [urls[start : start + images_per_row] for start in range(0, len(urls), images_per_row)]


def pipeline_images_per_s(
    base_url: str, urls: Sequence[str], images_per_row: int, presets: Sequence[str] = ()
) -> float:
    """Upload one CSV referencing every image, under URLs no upload used before (so that all of
    it is work), asking for `presets`; images per second until status says completed."""
    rows = rows_of(fresh_urls(urls), images_per_row)
    with httpx.Client(timeout=60) as client:
        elapsed, status = time_to_completed(
            client, base_url, product_csv(rows), poll_s=0.1, timeout_s=900, presets=presets
        )
    images = status["images"]
    assert isinstance(images, dict) and images["done"] == len(urls), status
    return len(urls) / elapsed


def warm_up(base_url: str, urls: Sequence[str], images_per_row: int) -> None:
    """A small upload first, so that a measurement starts with every worker warm: its connections
    open, its partitions assigned and its first images behind it. A worker just started or just
    given other partitions pays for all that in its first seconds, which is a fifth of a
    2,000-image run."""
    pipeline_images_per_s(base_url, urls[:WARM_UP_IMAGES], images_per_row)
