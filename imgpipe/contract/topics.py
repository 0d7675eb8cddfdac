"""Each topic bound once to its message model and its key.

Every service and every downstream consumer uses these names; imgpipe/runtime/topic_admin.py
creates the topics with their partitions and retention. Producers encode and consumers
decode through a topic's `TopicSpec`, so no message is serialised or keyed by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from imgpipe.contract.messages import DeadLetter, RequestEvent, RowMessage, RowResult
from imgpipe.contract.row_key import RowKey

Message = TypeVar("Message", bound=BaseModel)

ROWS = "imgpipe.rows"
RESULTS = "imgpipe.results"
EVENTS = "imgpipe.events"
ROWS_DLQ = "imgpipe.rows.dlq"


def request_key(request_id: str) -> bytes:
    """Results and events are keyed per request so one aggregator owns a request, in order."""
    return request_id.encode()


@dataclass(frozen=True)
class TopicSpec(Generic[Message]):
    """A topic's name, the model of its messages (JSON on the wire) and how a message is keyed."""

    name: str
    model: type[Message]
    key: Callable[[Message], bytes | None]

    def encode(self, message: Message) -> tuple[bytes, bytes | None]:
        """(value, key) as they go on the wire."""
        return message.model_dump_json().encode(), self.key(message)

    def decode(self, value: bytes) -> Message:
        """The message in `value`; pydantic's ValidationError if it is not one."""
        return self.model.model_validate_json(value)


def _dead_letter_key(letter: DeadLetter) -> bytes | None:
    """A dead letter keeps the key of the message it holds (one partition: it orders nothing)."""
    return letter.key.encode() if letter.key is not None else None


ROWS_TOPIC = TopicSpec(ROWS, RowMessage, lambda message: RowKey(message.request_id, message.row).encode())
RESULTS_TOPIC = TopicSpec(RESULTS, RowResult, lambda result: request_key(result.request_id))
EVENTS_TOPIC = TopicSpec(EVENTS, RequestEvent, lambda event: request_key(event.request_id))
DEAD_LETTERS_TOPIC = TopicSpec(ROWS_DLQ, DeadLetter, _dead_letter_key)
TOPICS: tuple[TopicSpec[Any], ...] = (
    ROWS_TOPIC,
    RESULTS_TOPIC,
    EVENTS_TOPIC,
    DEAD_LETTERS_TOPIC,
)
