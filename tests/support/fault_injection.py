"""Tools for the kill tests: a catalogue of images slow enough to kill things mid-run, a way to
kill a service like a power cut, and the exactness check every scenario ends with."""

from __future__ import annotations

import io
import os
import signal
import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from devstack import processes
from devstack.paths import StackPaths
from tests.support.helpers import read_csv, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack
from tests.support.stored_state import stored_row_count, stored_state

Rows = list[tuple[str, str, list[str]]]


@dataclass(frozen=True)
class Catalogue:
    rows: Rows
    dimensions: dict[str, tuple[int, int]]

    @property
    def image_count(self) -> int:
        return sum(len(urls) for _, _, urls in self.rows)


def serve_catalogue(
    server: LocalHttpServer, prefix: str, rows: int, images_per_row: int, delay_s: float
) -> Catalogue:
    """`rows` products, each with `images_per_row` distinct small JPEGs; every fetch waits `delay_s`,
    so the run lasts long enough to be interrupted."""
    distinct = [(24 + n % 17, 16 + n % 13) for n in range(32)]
    bodies = {size: photo_like_image(*size, seed=sum(size)) for size in distinct}
    catalogue_rows: Rows = []
    dimensions: dict[str, tuple[int, int]] = {}
    for row in range(rows):
        urls = []
        for index in range(images_per_row):
            size = distinct[(row * images_per_row + index) % len(distinct)]
            url = server.add(
                f"/{prefix}/{row}-{index}.jpg", Resource(bodies[size], "image/jpeg", delay_s=delay_s)
            )
            dimensions[url] = size
            urls.append(url)
        catalogue_rows.append((str(row + 1), f"Product {row + 1}", urls))
    return Catalogue(catalogue_rows, dimensions)


def kill_hard(paths: StackPaths, name: str) -> None:
    """SIGKILL, as a crash or a power cut: no cleanup, no commit, no goodbye."""
    pid = processes.running_pid(paths, name)
    assert pid is not None, f"{name} is not running"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while processes.running_pid(paths, name) is not None:
        assert time.monotonic() < deadline, f"{name} survived SIGKILL"
        time.sleep(0.05)


def finished_rows(stack: RunningStack, request_id: str) -> int:
    state = stored_state(stack.settings, request_id)
    return 0 if state is None else state.rows_finished


def assert_exact_outcome(stack: RunningStack, request_id: str, catalogue: Catalogue) -> None:
    """Completed; every row exactly once in order; every image output; exact counters; no
    truncated file."""
    status: dict[str, Any] = wait_finished(stack.base_url, request_id, timeout_s=400)
    rows, images = len(catalogue.rows), catalogue.image_count
    assert status["status"] == "completed", status
    assert status["rows"] == {"total": rows, "done": rows, "failed": 0}
    assert status["images"] == {"total": images, "done": images, "failed": 0}

    state = stored_state(stack.settings, request_id)
    assert state is not None
    assert (state.rows_done, state.rows_failed) == (rows, 0)
    assert (state.images_done, state.images_failed) == (images, 0)
    assert stored_row_count(stack.settings, request_id, rows) == rows
    if state.repairs:
        # Exact, but only thanks to the repair of stalled requests: say so in the test report.
        warnings.warn(f"request {request_id} needed {state.repairs} repair(s)", stacklevel=2)

    table = read_csv(httpx.get(f"{stack.base_url}/download/{request_id}", timeout=30).text)
    assert [cells[0] for cells in table[1:]] == [serial for serial, _, _ in catalogue.rows]
    # Every image fetched from its output URL, as a client would: from whichever storage holds it.
    with httpx.Client(timeout=30) as client:
        for (serial, _, urls), cells in zip(catalogue.rows, table[1:], strict=True):
            assert cells[2] == ",".join(urls), serial
            outputs = cells[3].split(",")
            assert len(outputs) == len(urls) and all(outputs), f"row {serial} lacks outputs: {cells[3]}"
            for url, output in zip(urls, outputs, strict=True):
                _assert_complete_jpeg(client.get(output), catalogue.dimensions[url])


def _assert_complete_jpeg(response: httpx.Response, size: tuple[int, int]) -> None:
    name = response.url.path.rsplit("/", 1)[1]
    assert response.status_code == 200, f"{name}: {response.status_code}"
    data = response.content
    assert data.endswith(b"\xff\xd9"), f"{name} is truncated"
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every byte: a truncated file raises here
    assert image.format == "JPEG" and image.size == size
