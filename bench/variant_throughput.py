"""`variants.throughput_ratio`: the pipeline's photos/s when every image also gets two presets'
variants (a 400 px WebP and a 1600 px AVIF, the default IMGPIPE_PRESETS) ÷ its photos/s without.

On the bench stack with 2 processors, the throughput upload of `throughput.*` without presets and
with both, in turn, twice, the best of each: this machine's speed drifts by a tenth within
minutes, and taking turns exposes both to it alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.stack import BenchStack
from bench.throughput import pipeline_images_per_s, warm_up

TWO_PRESETS = ("thumb", "large")
ROUNDS = 2


def presets_throughput(stack: BenchStack, urls: Sequence[str], images_per_row: int) -> dict[str, float]:
    warm_up(stack.base_url, urls, images_per_row)
    best: dict[tuple[str, ...], float] = {(): 0.0, TWO_PRESETS: 0.0}
    for _ in range(ROUNDS):
        for presets in best:
            rate = pipeline_images_per_s(stack.base_url, urls, images_per_row, presets)
            print(f"  presets {','.join(presets) or 'none'}: {rate:.1f} images/s", flush=True)
            best[presets] = max(best[presets], rate)
    return {
        "photos_images_per_s": best[()],
        "photos_with_presets_images_per_s": best[TWO_PRESETS],
        "throughput_ratio": best[TWO_PRESETS] / best[()],
    }
