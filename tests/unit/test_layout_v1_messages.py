"""Mixed releases in one consumer group, without servers: every message release 8261b3e wrote
(tests/fixtures/layout_v1) is read by the current models, and what the current code writes in its
place still validates against that release's JSON Schemas, so its consumers read it too."""

from __future__ import annotations

import json

import jsonschema
import pytest

from imgpipe.contract import schema_path
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
