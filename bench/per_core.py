"""A limit: work split over one process per core, the processes timed together.

One process per core, not threads in one: Pillow's JPEG encoder holds the GIL (measured on the
benchmark machine: 417 encodes/s on one thread, 415 on two), so threads in one process reach
about two thirds of what two processes do, and a limit taken so would flatter the pipeline, whose
workers are processes.

Each process is a fresh interpreter (spawn), as a plain script would be. It first prepares its
share untimed (reading it, warming up its codecs, as a running processor did long ago), then all
start together at a barrier; the rate is every item over the span from the first start to the
last finish.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable, Sequence
from multiprocessing.synchronize import Barrier
from typing import Protocol, TypeVar

from imgpipe.config.settings import Settings
from processors.compress import compress_jpeg
from processors.image_memory import keep_freed_memory

Item = TypeVar("Item")
Item_contra = TypeVar("Item_contra", contravariant=True)


class ShareJob(Protocol[Item_contra]):
    """What each process does with its share; pickled into the process, so a plain dataclass."""

    def prepare(self, share: Sequence[Item_contra]) -> Callable[[], object]:
        """Untimed: everything the share needs first. Returns the work that is timed."""
        ...


def recompress(data: bytes, settings: Settings) -> int:
    """What a processor does to one image's bytes (the same decode, colour handling and encode
    settings); returns the bytes written."""
    jpeg = compress_jpeg(
        data, settings.jpeg_quality, settings.max_image_pixels, settings.jpeg_progressive
    ).data
    assert jpeg is not None  # compress_jpeg always makes it
    return len(jpeg)


def _timed_share(
    job: ShareJob[Item],
    share: Sequence[Item],
    barrier: Barrier,
    spans: multiprocessing.Queue[tuple[float, float]],
) -> None:
    keep_freed_memory()  # as a processor does
    work = job.prepare(share)
    barrier.wait(timeout=600)
    # time.monotonic is CLOCK_MONOTONIC on Linux: one clock for every process of the machine.
    started = time.monotonic()
    work()
    spans.put((started, time.monotonic()))


def items_per_s(job: ShareJob[Item], items: Sequence[Item], processes: int) -> float:
    """Items per second over all `processes`, each doing `job` with every n-th item."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    spans: multiprocessing.Queue[tuple[float, float]] = context.Queue()
    workers = [
        context.Process(target=_timed_share, args=(job, items[share::processes], barrier, spans))
        for share in range(processes)
    ]
    for worker in workers:
        worker.start()
    measured: list[tuple[float, float]] = []
    try:
        while len(measured) < processes:
            try:
                measured.append(spans.get(timeout=1))
            except queue.Empty:
                if any(worker.exitcode not in (None, 0) for worker in workers):
                    raise RuntimeError("a process of the limit failed (its traceback is above)") from None
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
    first_start = min(started for started, _ in measured)
    last_finish = max(finished for _, finished in measured)
    return len(items) / (last_finish - first_start)
