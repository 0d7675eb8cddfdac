"""Each topic bound once to its message model and its key, and the topics' creation.

Every service and every downstream consumer uses these names. Producers encode and consumers
decode through a topic's `TopicSpec`, so no message is serialised or keyed by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import BaseModel

from imgpipe.messages import DeadLetter, RequestEvent, RowMessage, RowResult
from imgpipe.row_key import RowKey
from imgpipe.settings import Settings

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


def topic_partitions(settings: Settings) -> dict[str, int]:
    return {
        ROWS: settings.rows_partitions,
        RESULTS: settings.results_partitions,
        EVENTS: settings.events_partitions,
        ROWS_DLQ: 1,
    }


async def ensure_topics(settings: Settings) -> None:
    """Create any missing imgpipe topic; existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=settings.topic_replication_factor,
            )
            for name, partitions in topic_partitions(settings).items()
            if name not in existing
        ]
        # Another service may create them between our list and create: that is fine.
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
