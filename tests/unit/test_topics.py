"""imgpipe.contract.topics: each topic's messages go on the wire as JSON of its model, keyed as its
consumers rely on (rows per row, results and events per request, dead letters as the original)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from imgpipe.config.settings import Settings
from imgpipe.contract.messages import RowMessage, RowResult
from imgpipe.contract.topics import DEAD_LETTERS_TOPIC, RESULTS_TOPIC, ROWS_TOPIC, TOPICS
from imgpipe.runtime.topic_admin import topic_configs
from processors.dead_letters import dead_letter


def test_a_row_is_keyed_by_request_and_row_and_decodes_to_itself() -> None:
    message = RowMessage(
        request_id="r1",
        row=7,
        serial_number="8",
        product_name="P",
        input_urls=["https://a/1.jpg"],
        quality=80,
    )
    value, key = ROWS_TOPIC.encode(message)
    assert key == b"r1:7"
    assert json.loads(value)["input_urls"] == ["https://a/1.jpg"]
    assert ROWS_TOPIC.decode(value) == message


def test_a_result_is_keyed_by_its_request() -> None:
    result = RowResult(request_id="r1", row=7, images=[], worker_id="w", duration_ms=1.0)
    assert RESULTS_TOPIC.encode(result)[1] == b"r1"


def test_a_dead_letter_keeps_the_original_key() -> None:
    letter = dead_letter("imgpipe.rows", 0, 5, b"r1:7", b"{", "undecodable", "bad", "w")
    assert DEAD_LETTERS_TOPIC.encode(letter)[1] == b"r1:7"
    keyless = dead_letter("imgpipe.rows", 0, 6, None, b"{", "undecodable", "bad", "w")
    assert DEAD_LETTERS_TOPIC.encode(keyless)[1] is None


def test_what_is_not_a_topic_message_does_not_decode() -> None:
    with pytest.raises(ValidationError):
        RESULTS_TOPIC.decode(b'{"request_id": "r1"}')


def test_every_topic_has_one_spec() -> None:
    names = [topic.name for topic in TOPICS]
    assert (
        sorted(names)
        == sorted(set(names))
        == ["imgpipe.events", "imgpipe.results", "imgpipe.rows", "imgpipe.rows.dlq"]
    )


def test_each_topic_keeps_messages_as_long_as_its_setting_with_segments_that_let_it() -> None:
    configs = topic_configs(Settings(kafka_rows_retention_days=0.5, kafka_dlq_retention_days=30))
    day_ms = 24 * 3600 * 1000
    assert set(configs) == {topic.name for topic in TOPICS}
    assert configs[ROWS_TOPIC.name] == {"retention.ms": str(day_ms // 2), "segment.ms": str(day_ms // 2)}
    # A segment is deleted whole: a day's segments keep a dead letter at most a day past its 30.
    assert configs[DEAD_LETTERS_TOPIC.name] == {"retention.ms": str(30 * day_ms), "segment.ms": str(day_ms)}
