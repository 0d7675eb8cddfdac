"""Run a Faust app as a worker whose SIGTERM finishes in-flight work and commits it first.

Faust stops its consumer on SIGTERM without waiting for messages still being processed (its
wait for them is skipped once stopping has begun), so their offsets are not committed and
another worker does them again. This worker first drains every registered OrderedAcks, commits,
and only then lets Faust shut down.
"""

from __future__ import annotations

import asyncio
import logging

import faust

from imgpipe.logs import configure_logging
from imgpipe.ordered_acks import OrderedAcks
from imgpipe.settings import Settings

logger = logging.getLogger(__name__)

_in_flight: list[OrderedAcks[faust.EventT[bytes]]] = []


def register_in_flight(acks: OrderedAcks[faust.EventT[bytes]]) -> None:
    _in_flight.append(acks)


class DrainingWorker(faust.Worker):
    _draining: asyncio.Future[None] | None = None

    def _on_sigterm(self) -> None:
        if self._draining is None:  # a second SIGTERM while draining changes nothing
            self._draining = asyncio.ensure_future(self._drain_then_stop())

    async def _drain_then_stop(self) -> None:
        logger.info("SIGTERM: finishing %d in-flight group(s) before stopping", len(_in_flight))
        await asyncio.gather(*(acks.drain() for acks in _in_flight))
        await self.app.consumer.commit()
        # What is left was received but never started: it stays uncommitted for the next owner.
        # Faust must not wait for it to be acknowledged, which would never happen.
        self.app.conf.stream_wait_empty = False
        super()._on_sigterm()


def run_worker(app: faust.App, settings: Settings) -> None:
    configure_logging(settings)
    DrainingWorker(
        app, loglevel=settings.log_level, override_logging=False, quiet=True
    ).execute_from_commandline()
