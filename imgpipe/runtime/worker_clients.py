"""A worker's clients, opened when its Faust app starts and closed when it has stopped.

The processor and aggregator apps are built by factories (`create_processor_app`,
`create_aggregator_app`), so importing them opens nothing. Their clients (the MongoDB client, the
Kafka producer, executors) are opened by an async context manager when the app starts, before its
agents and timers; the app closes that context once its agents and timers have stopped (mode
closes a service's exit stack after its children and its futures), so nothing still running uses
a closed client. This is the one shutdown hook both workers share.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Generic, TypeVar

Clients = TypeVar("Clients")


class WorkerClients(Generic[Clients]):
    def __init__(self, open_clients: Callable[[], AbstractAsyncContextManager[Clients]]) -> None:
        self._open_clients = open_clients
        self._clients: Clients | None = None

    async def open(self, stack: AsyncExitStack) -> None:
        """Open the clients, to be closed with `stack`."""
        stack.callback(self._forget)  # registered first, so it runs after the clients are closed
        self._clients = await stack.enter_async_context(self._open_clients())

    def _forget(self) -> None:
        self._clients = None

    @property
    def current(self) -> Clients:
        """The open clients; only agents and timers use them, and they run while the app does."""
        if self._clients is None:
            raise RuntimeError("the worker's clients are open only while its app runs")
        return self._clients
