"""The committed JSON Schemas are exactly what the message models generate, and real messages
validate against them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from imgpipe.contract.messages import (
    ErrorCode,
    ImageError,
    ImageOutcome,
    RequestCounts,
    RequestEvent,
    RequestStatus,
    RowMessage,
    RowResult,
)
from imgpipe.contract.schemas import TOPIC_MODELS, render_schema, schema_path
from imgpipe.contract.topics import EVENTS, RESULTS, ROWS


@pytest.mark.parametrize("topic", list(TOPIC_MODELS))
def test_committed_schema_matches_the_model(topic: str) -> None:
    committed = schema_path(topic).read_text()
    assert committed == render_schema(topic), (
        f"{schema_path(topic).name} is stale: run `python -m imgpipe.contract` and commit"
    )


def _validate(topic: str, message_json: str) -> None:
    schema = json.loads(schema_path(topic).read_text())
    jsonschema.validate(json.loads(message_json), schema)


def test_a_result_message_validates() -> None:
    result = RowResult(
        request_id="r",
        row=3,
        images=[
            ImageOutcome(input_url="https://a/x.jpg", output_url="https://b/y.jpg", bytes_in=10),
            ImageOutcome(
                input_url="https://a/z.jpg",
                error=ImageError(code=ErrorCode.HTTP_ERROR, message="HTTP 404"),
            ),
        ],
        worker_id="w",
        duration_ms=1.5,
    )
    _validate(RESULTS, result.model_dump_json())


def test_an_event_validates_and_a_wrong_one_does_not() -> None:
    now = datetime.now(UTC)
    event = RequestEvent(
        type="request.completed",
        request_id="r",
        status=RequestStatus.COMPLETED,
        counts=RequestCounts(
            rows_total=1, rows_done=1, rows_failed=0, images_total=2, images_done=2, images_failed=0
        ),
        quality=50,
        download_url="http://x/download/r",
        created_at=now,
        completed_at=now,
    )
    _validate(EVENTS, event.model_dump_json())
    broken = json.loads(event.model_dump_json())
    broken["status"] = "exploded"
    with pytest.raises(jsonschema.ValidationError):
        _validate(EVENTS, json.dumps(broken))


def test_a_row_message_from_before_attempt_was_dropped_still_decodes_and_validates() -> None:
    # Written by a gateway of the previous release, still on the topic during an upgrade.
    old = (
        '{"schema_version": 1, "request_id": "r", "row": 0, "serial_number": "1", "product_name": "p",'
        ' "input_urls": ["https://a/x.jpg"], "quality": 80, "owner": null, "attempt": 1}'
    )
    assert RowMessage.model_validate_json(old).input_urls == ["https://a/x.jpg"]
    _validate(ROWS, old)
