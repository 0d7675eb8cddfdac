"""The example downstream consumer, run as its own process and unchanged since before presets,
sees completion events: of a plain request and of one with presets (optional fields it ignores)."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from devstack.paths import ROOT, VENV_PYTHON
from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration


def test_example_consumer_prints_the_completed_request(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    url = image_server.add("/consumer/a.jpg", Resource(photo_like_image(32, 32, seed=11), "image/jpeg"))
    request_id = upload(stack.base_url, product_csv([("1", "Example", [url])])).json()["request_id"]
    with_presets = upload(stack.base_url, product_csv([("1", "Presets", [url])]), presets="thumb,large")
    preset_request_id = with_presets.json()["request_id"]
    assert wait_finished(stack.base_url, request_id)["status"] == "completed"
    assert wait_finished(stack.base_url, preset_request_id)["status"] == "completed"
    # A fresh group reading from the beginning sees every event so far, this one included.
    output = subprocess.run(
        [
            str(VENV_PYTHON), str(ROOT / "examples" / "consume_events.py"),
            "--bootstrap", stack.settings.kafka_bootstrap_servers,
            "--group", f"example-{uuid.uuid4().hex}",
            "--from-beginning", "--exit-when-idle", "5",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert f"request.completed {request_id} completed: 1/1 images" in output.stdout, output.stderr
    assert f"request.completed {preset_request_id} completed: 1/1 images" in output.stdout, output.stderr
