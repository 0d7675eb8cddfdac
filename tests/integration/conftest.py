from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo import MongoClient

from imgpipe.database import Document
from tests.integration.image_server import ImageServer
from tests.integration.stack import RunningStack, running_test_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    # Two processor workers: the horizontal-scaling test needs both to share the work.
    with running_test_stack(processor_count=2) as test_stack:
        yield test_stack


@pytest.fixture(scope="session")
def image_server() -> Iterator[ImageServer]:
    with ImageServer().running() as server:
        yield server


@pytest.fixture(scope="session")
def mongo(stack: RunningStack) -> Iterator[MongoClient[Document]]:
    client: MongoClient[Document] = MongoClient(stack.settings.mongodb, tz_aware=True)
    yield client
    client.close()
