"""Prometheus metrics on the gateway and on every worker's own port; JSON log lines with request ids."""

from __future__ import annotations

import json

import pytest

from devstack.waiting import wait_until
from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack
from tests.support.worker_metrics import processors_total, scrape, value, worker_urls

pytestmark = pytest.mark.integration


def processed(stack: RunningStack, outcome: str, error_code: str = "") -> float:
    return processors_total(stack, "imgpipe_images_processed_total", outcome=outcome, error_code=error_code)


def test_metrics_count_what_a_request_did(stack: RunningStack, image_server: LocalHttpServer) -> None:
    gateway_url = f"{stack.base_url}/metrics"
    aggregator_url = worker_urls(stack)["aggregator"]
    before = scrape(gateway_url)
    ok_before, missing_before = processed(stack, "ok"), processed(stack, "failed", "http_error")
    finished_before = value(
        scrape(aggregator_url), "imgpipe_requests_finished_total", status="completed_with_errors"
    )

    rows = []
    for n in range(4):
        url = image_server.add(f"/metrics/{n}.jpg", Resource(photo_like_image(40, 30, n)))
        rows.append((str(n + 1), f"M {n}", [url]))
    rows.append(("5", "M missing", [image_server.url("/metrics/none.jpg")]))
    response = upload(stack.base_url, product_csv(rows))
    assert response.status_code == 202
    request_id = response.json()["request_id"]
    assert upload(stack.base_url, "S. No.,Product Name,Input Image Urls\n1,,x\n").status_code == 400
    assert wait_finished(stack.base_url, request_id)["status"] == "completed_with_errors"

    after = scrape(gateway_url)
    assert (
        value(after, "imgpipe_uploads_total", outcome="accepted")
        == value(before, "imgpipe_uploads_total", outcome="accepted") + 1
    )
    assert (
        value(after, "imgpipe_uploads_total", outcome="csv_rejected")
        == value(before, "imgpipe_uploads_total", outcome="csv_rejected") + 1
    )
    assert value(after, "imgpipe_rows_published_total") == value(before, "imgpipe_rows_published_total") + 5
    assert ("imgpipe_requests_in_flight", ()) in after

    assert processed(stack, "ok") == ok_before + 4
    assert processed(stack, "failed", "http_error") == missing_before + 1
    aggregator = scrape(aggregator_url)
    assert (
        value(aggregator, "imgpipe_requests_finished_total", status="completed_with_errors")
        == finished_before + 1
    )
    assert sorted(worker_urls(stack)) == ["aggregator", "processor-1", "processor-2"]
    for name, url in worker_urls(stack).items():
        # Reported every few seconds, the first time a few seconds after the worker started.
        wait_until(lambda: any(key[0] == "imgpipe_consumer_lag" for key in scrape(url)), 30, f"{name}'s lag")  # noqa: B023
        samples = scrape(url)
        if name.startswith("processor"):
            assert any(key[0] == "imgpipe_fetch_duration_seconds_count" for key in samples)
            assert any(key[0] == "imgpipe_compress_duration_seconds_count" for key in samples)


def test_logs_are_json_lines_with_the_request_id(stack: RunningStack, image_server: LocalHttpServer) -> None:
    url = image_server.add("/logs/a.jpg", Resource(photo_like_image(40, 30, seed=3)))
    response = upload(stack.base_url, product_csv([("1", "Logged", [url])]))
    request_id = response.json()["request_id"]
    assert wait_finished(stack.base_url, request_id)["status"] == "completed"

    for service in ("gateway", "aggregator", "processor-1", "processor-2"):
        lines = [json.loads(line) for line in stack.paths.log(service).read_text().splitlines() if line]
        assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines), service
    for service in ("gateway", "aggregator"):
        tagged = [
            line for line in map(json.loads, stack.paths.log(service).read_text().splitlines())
            if line.get("request_id") == request_id
        ]  # fmt: skip
        assert tagged, f"no {service} log line carries request_id {request_id}"
