"""What a user does, timed: upload a CSV, poll its status until it is finished."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from imgpipe.contract.messages import FINISHED_STATUSES, RequestStatus


def product_csv(rows: Sequence[Sequence[str]]) -> bytes:
    """A CSV with one product per entry of `rows`, each the URLs of that product's images."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["S. No.", "Product Name", "Input Image Urls"])
    for number, urls in enumerate(rows, 1):
        writer.writerow([number, f"Product {number}", ",".join(urls)])
    return output.getvalue().encode()


def upload(client: httpx.Client, base_url: str, csv_file: bytes | Path, presets: Sequence[str] = ()) -> str:
    content = csv_file.read_bytes() if isinstance(csv_file, Path) else csv_file
    response = client.post(
        f"{base_url}/upload",
        files={"file": ("products.csv", content, "text/csv")},
        data={"presets": ",".join(presets)} if presets else None,
    )
    response.raise_for_status()
    request_id: str = response.json()["request_id"]
    return request_id


def wait_finished(
    client: httpx.Client, base_url: str, request_id: str, poll_s: float, timeout_s: float
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        status: dict[str, object] = client.get(f"{base_url}/status/{request_id}").json()
        if status["status"] in FINISHED_STATUSES:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"request {request_id} not finished after {timeout_s} s: {status}")
        time.sleep(poll_s)


def time_to_completed(
    client: httpx.Client,
    base_url: str,
    csv_file: bytes,
    poll_s: float,
    timeout_s: float,
    presets: Sequence[str] = (),
) -> tuple[float, dict[str, object]]:
    """Seconds from the start of the upload until status says completed, and that status."""
    started = time.perf_counter()
    request_id = upload(client, base_url, csv_file, presets)
    status = wait_finished(client, base_url, request_id, poll_s, timeout_s)
    elapsed = time.perf_counter() - started
    if status["status"] != RequestStatus.COMPLETED:
        raise RuntimeError(f"request {request_id} ended {status['status']}: {status}")
    return elapsed, status
