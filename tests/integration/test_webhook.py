"""The completion webhook: signed over its body, retried after failures, attempts shown in status."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, ReceivedPost, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import WEBHOOK_SECRET, RunningStack

pytestmark = pytest.mark.integration


def _wait_for_posts(receiver: LocalHttpServer, path: str, count: int) -> list[ReceivedPost]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        posts = [post for post in receiver.posts if post.path == path]
        if len(posts) >= count:
            return posts
        time.sleep(0.1)
    raise AssertionError(f"{path} received {len(posts)} posts, expected {count}")


def _webhook_once_settled(stack: RunningStack, request_id: str) -> dict[str, Any]:
    """The request's webhook status once delivery has succeeded or given up."""
    wait_finished(stack.base_url, request_id)
    deadline = time.monotonic() + 30
    while True:
        webhook: dict[str, Any] = httpx.get(f"{stack.base_url}/status/{request_id}").json()["webhook"]
        if webhook["status"] in ("delivered", "failed") or time.monotonic() > deadline:
            return webhook
        time.sleep(0.1)


def _submit(stack: RunningStack, image_server: LocalHttpServer, webhook_url: str) -> str:
    image = image_server.add("/hook/a.jpg", Resource(photo_like_image(30, 30, seed=9), "image/jpeg"))
    response = upload(stack.base_url, product_csv([("1", "Hooked", [image])]), webhook_url=webhook_url)
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    return request_id


def test_webhook_is_signed_and_carries_the_event(
    stack: RunningStack, image_server: LocalHttpServer, webhook_receiver: LocalHttpServer
) -> None:
    request_id = _submit(stack, image_server, webhook_receiver.url("/signed"))
    post = _wait_for_posts(webhook_receiver, "/signed", 1)[0]
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Imgpipe-Signature"] == expected
    assert abs(int(post.headers["X-Imgpipe-Timestamp"]) - time.time()) < 120
    event = json.loads(post.body)
    assert event["type"] == "request.completed"
    assert event["request_id"] == request_id
    assert event["status"] == "completed"
    forged = "sha256=" + hmac.new(b"wrong-secret", post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Imgpipe-Signature"] != forged


def test_failed_deliveries_are_retried_and_visible_in_status(
    stack: RunningStack, image_server: LocalHttpServer, webhook_receiver: LocalHttpServer
) -> None:
    webhook_receiver.post_statuses["/flaky"] = [500, 503, 500]
    request_id = _submit(stack, image_server, webhook_receiver.url("/flaky"))
    posts = _wait_for_posts(webhook_receiver, "/flaky", 4)
    assert len({post.body for post in posts}) == 1  # the same event every time
    webhook = _webhook_once_settled(stack, request_id)
    assert webhook["url"] == webhook_receiver.url("/flaky")
    assert webhook["status"] == "delivered"
    assert [d["status_code"] for d in webhook["deliveries"]] == [500, 503, 500, 200]
    assert [d["attempt"] for d in webhook["deliveries"]] == [1, 2, 3, 4]


def test_webhook_to_a_blocked_destination_is_not_sent(
    stack: RunningStack, image_server: LocalHttpServer, forbidden_server: LocalHttpServer
) -> None:
    request_id = _submit(stack, image_server, forbidden_server.url("/hook"))
    webhook = _webhook_once_settled(stack, request_id)
    assert webhook["status"] == "failed"
    assert webhook["deliveries"][0]["error"].startswith("blocked_destination")
    assert forbidden_server.posts == []
