"""Mixed releases in one consumer group, without servers: every message release 8261b3e wrote
(tests/fixtures/layout_v1) is read by the current models, and what the current code writes in its
place still validates against that release's JSON Schemas, so its consumers read it too."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from imgpipe.contract.presets import parse_presets
from imgpipe.contract.schemas import schema_path
from imgpipe.contract.topics import EVENTS, RESULTS, ROWS, ROWS_DLQ
from tests.support.layout_fixtures import LAYOUT_V1_FIXTURES, TOPIC_SPECS

TOPIC_NAMES = sorted(TOPIC_SPECS)


def test_every_topic_has_recorded_messages() -> None:
    for topic in TOPIC_NAMES:
        assert LAYOUT_V1_FIXTURES.messages(topic), f"no message of {topic} recorded"


@pytest.mark.parametrize("topic", TOPIC_NAMES)
def test_old_messages_decode_with_the_current_models_and_keep_their_keys(topic: str) -> None:
    spec = TOPIC_SPECS[topic]
    for recorded in LAYOUT_V1_FIXTURES.messages(topic):
        message = spec.decode(recorded.value)
        assert spec.key(message) == recorded.key


@pytest.mark.parametrize("topic", TOPIC_NAMES)
def test_old_messages_validate_against_the_current_schemas(topic: str) -> None:
    schema = json.loads(schema_path(topic).read_text())
    for recorded in LAYOUT_V1_FIXTURES.messages(topic):
        jsonschema.validate(json.loads(recorded.value), schema)


@pytest.mark.parametrize("topic", TOPIC_NAMES)
def test_current_messages_validate_against_the_old_schemas(topic: str) -> None:
    spec = TOPIC_SPECS[topic]
    old_schema = LAYOUT_V1_FIXTURES.schema(topic)
    for recorded in LAYOUT_V1_FIXTURES.messages(topic):
        value, key = spec.encode(spec.decode(recorded.value))
        jsonschema.validate(json.loads(value), old_schema)
        assert key == recorded.key


def _with_presets(topic: str, value: dict[str, Any]) -> dict[str, Any]:
    """A recorded message as the current code writes it for a request with two presets."""
    presets = parse_presets("thumb:400x400:webp:75,large:1600x1600:avif:50")
    if topic == ROWS:
        return {**value, "presets": [preset.model_dump(mode="json") for preset in presets]}
    if topic == RESULTS:
        variant = {
            "format": "webp",
            "width": 40,
            "height": 30,
            "bytes_out": 900,
            "output_url": "http://o/a.webp",
        }
        images = [{**image, "variants": [{"preset": "thumb", **variant}]} for image in value["images"]]
        return {**value, "images": images}
    if topic == EVENTS:
        return {**value, "presets": [preset.name for preset in presets]}
    return value


@pytest.mark.parametrize("topic", TOPIC_NAMES)
def test_messages_of_requests_with_presets_validate_against_the_old_schemas(topic: str) -> None:
    """Presets add only optional fields: consumers built on the release before them read on."""
    spec = TOPIC_SPECS[topic]
    old_schema = LAYOUT_V1_FIXTURES.schema(topic)
    for recorded in LAYOUT_V1_FIXTURES.messages(topic):
        value, _ = spec.encode(
            spec.decode(json.dumps(_with_presets(topic, json.loads(recorded.value))).encode())
        )
        written = json.loads(value)
        if topic != ROWS_DLQ:
            assert written != json.loads(spec.encode(spec.decode(recorded.value))[0])  # the fields are kept
        jsonschema.validate(written, old_schema)
