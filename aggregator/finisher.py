"""Finishing requests in the background, so one long completion never holds up counting others.

Writing the output CSV of a large request takes a while; the results agent hands the request
over here and goes on counting other requests' results. A request is finished at most once at a
time per aggregator, and its state is re-read first, so a request handed over twice (by the
results agent and by the in-flight scan) is finished once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

from imgpipe.runtime.logs import logging_request
from imgpipe.runtime.retrying import until_done
from imgpipe.state.database import RequestDocument
from imgpipe.state.request_state import RequestState

logger = logging.getLogger(__name__)

Finish = Callable[[RequestDocument, RequestState], Awaitable[RequestState]]


class Finisher:
    def __init__(self, finish: Finish) -> None:
        self._finish = finish
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, request: RequestDocument, state: RequestState) -> None:
        request_id = request["_id"]
        if request_id in self._tasks:
            return
        task = asyncio.create_task(self._run(request, state))
        self._tasks[request_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(request_id, None))

    async def _run(self, request: RequestDocument, state: RequestState) -> None:
        with logging_request(request["_id"]):
            await until_done(
                functools.partial(self._finish, request, state), f"finishing request {request['_id']}"
            )

    async def stop(self) -> None:
        """Stop at once: a completion cut short leaves its request unfinished and fully counted,
        which the in-flight scan finishes again (aggregator/repair.py)."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
