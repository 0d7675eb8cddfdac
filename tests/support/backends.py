"""Where the test stacks' Kafka and database come from, chosen by IMGPIPE_TEST_BACKEND.

- `local` (the default): devstack provisions Kafka (KRaft) and FerretDB as local processes under
  .local/, exactly as `make up` does. Needs no Docker.
- `testcontainers`: testcontainers starts a Kafka container (KRaft) and a MongoDB 7 container for
  each test stack; the imgpipe services still run as local processes, pointed at them through
  IMGPIPE_KAFKA_BOOTSTRAP_SERVERS and IMGPIPE_MONGODB_URL. Needs a reachable Docker engine; without
  one every test that needs a stack is skipped, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import pytest
from docker.errors import DockerException
from testcontainers.community.kafka import KafkaContainer
from testcontainers.community.mongodb import MongoDbContainer

BACKENDS = ("local", "testcontainers")
BACKEND_VARIABLE = "IMGPIPE_TEST_BACKEND"
# testcontainers' Kafka module sets up KRaft for Confluent's images (7.0 and later).
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
MONGODB_IMAGE = "mongo:7"


def selected_backend() -> str:
    value = os.environ.get(BACKEND_VARIABLE, "local")
    if value in BACKENDS:
        return value
    raise pytest.UsageError(f"{BACKEND_VARIABLE}={value!r}: use 'local' (the default) or 'testcontainers'")


def docker_unreachable_reason() -> str | None:
    """Why no Docker engine can be used (None when one answers). Honours DOCKER_HOST."""
    try:
        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except DockerException as error:
        where = os.environ.get("DOCKER_HOST", "the default socket")
        return f"no Docker engine is reachable at {where} ({error})"
    return None


@contextmanager
def infrastructure_settings() -> Iterator[dict[str, str]]:
    """The settings that point a test stack at its Kafka and database: none for the local backend
    (devstack then starts them), the containers' addresses for testcontainers."""
    if selected_backend() == "local":
        yield {}
        return
    reason = docker_unreachable_reason()
    if reason is not None:
        pytest.skip(f"{BACKEND_VARIABLE}=testcontainers: {reason}")
    with KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka, MongoDbContainer(MONGODB_IMAGE) as mongodb:
        yield {
            "IMGPIPE_KAFKA_BOOTSTRAP_SERVERS": kafka.get_bootstrap_server(),
            "IMGPIPE_MONGODB_URL": mongodb.get_connection_url(),
        }


# For tests that stop or kill the local Kafka or FerretDB process: a container has no such process,
# and restarting one changes its mapped port, which Kafka's advertised address would not follow.
needs_local_infrastructure = pytest.mark.skipif(
    selected_backend() != "local",
    reason="stops the local Kafka or database process; runs only with IMGPIPE_TEST_BACKEND=local",
)
