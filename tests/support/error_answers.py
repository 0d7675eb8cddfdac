"""The documented error shape, checked the same way in the in-process and the integration tier."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

# What an error body must never show: a trace or a path from inside the server.
LEAKS = ("Traceback", "/work/", ".py")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def assert_error(answer: Answer, status: int, error: str) -> dict[str, Any]:
    """The documented error shape: JSON with a code and a sentence, nothing from the inside."""
    assert answer.status == status, answer.body[:500]
    text = answer.body.decode()
    for leak in LEAKS:
        assert leak not in text
    body: dict[str, Any] = json.loads(text)
    assert body["error"] == error, body
    assert isinstance(body["message"], str) and body["message"]
    return body


def answer_of(response: httpx.Response) -> Answer:
    return Answer(response.status_code, response.content)
