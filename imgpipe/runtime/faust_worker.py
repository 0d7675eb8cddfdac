"""Run a Faust app as a worker whose SIGTERM finishes in-flight work and commits it first.

Faust stops its consumer on SIGTERM without waiting for messages still being processed (its
wait for them is skipped once stopping has begun), so their offsets are not committed and
another worker does them again. Agents built on `handle_in_offset_order` register their
in-flight work here; on SIGTERM the worker drains it, commits, and only then lets Faust stop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import cast

import faust
from faust.streams import Stream

from imgpipe.config.settings import ProcessSettings
from imgpipe.runtime.logs import configure_logging
from imgpipe.runtime.ordered_acks import OrderedAcks
from imgpipe.runtime.retrying import until_done
from imgpipe.runtime.worker_metrics import expose_worker_metrics

logger = logging.getLogger(__name__)

_in_flight: list[OrderedAcks[faust.EventT[bytes]]] = []


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


def run_worker(app: faust.App, process: ProcessSettings) -> None:
    configure_logging(process.log_level)
    expose_worker_metrics(app, process.metrics_port)
    worker = DrainingWorker(app, loglevel=process.log_level, override_logging=False, quiet=True)
    worker.spinner = None  # its terminal escape codes would land in the JSON log
    worker.execute_from_commandline()


Handle = Callable[[faust.EventT[bytes]], Awaitable[object]]


async def handle_in_offset_order(stream: faust.StreamT[bytes], handle: Handle, max_in_flight: int) -> None:
    """The body of an agent: run `handle` on up to `max_in_flight` events at once, acknowledging
    them in offset order per partition (see imgpipe.runtime.ordered_acks), drained on SIGTERM.

    `handle` must be idempotent: after an unexpected failure it runs again (see
    imgpipe.runtime.retrying.until_done), since acknowledging the event would lose it."""
    # noack exists on the concrete Stream but is missing from Faust's StreamT interface.
    manual = cast(Stream[bytes], stream).noack()
    acks: OrderedAcks[faust.EventT[bytes]] = OrderedAcks(manual.ack, max_in_flight)
    _in_flight.append(acks)
    acknowledger = asyncio.ensure_future(acks.acknowledge_forever())
    try:
        async for event in manual.events():
            # When draining for shutdown nothing starts: the event stays unacknowledged for its
            # next owner. The loop stays alive, or Faust would start a fresh actor.
            message = event.message
            what = f"handling {message.topic}[{message.partition}]@{message.offset}"
            await acks.start(message.tp, event, until_done(functools.partial(handle, event), what))
    finally:
        await acks.drain()
        acknowledger.cancel()
