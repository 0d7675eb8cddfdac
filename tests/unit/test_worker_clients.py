"""imgpipe.runtime.worker_clients.WorkerClients: opened with the app's exit stack, closed with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from imgpipe.runtime.worker_clients import WorkerClients


async def test_clients_exist_from_start_to_shutdown() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def open_clients() -> AsyncIterator[str]:
        events.append("opened")
        yield "the clients"
        events.append("closed")

    clients = WorkerClients(open_clients)
    assert events == []  # building the app opens nothing
    async with AsyncExitStack() as stack:
        await clients.open(stack)
        assert clients.current == "the clients"
        assert events == ["opened"]
    assert events == ["opened", "closed"]
    with pytest.raises(RuntimeError, match="only while its app runs"):
        _ = clients.current
