"""The Faust app shared by the processor and aggregator workers: its settings, and its clients
opened on start-up and closed on shutdown (imgpipe/runtime/worker_clients.py)."""

from __future__ import annotations

from typing import Any

import faust

from imgpipe.config.settings import KafkaSettings, ProcessSettings
from imgpipe.runtime.worker_clients import WorkerClients

STREAM_BUFFER_MESSAGES = 16_384


class WorkerApp(faust.App):
    def __init__(self, app_id: str, clients: WorkerClients[Any], **options: Any) -> None:
        super().__init__(app_id, **options)
        self._clients = clients

    async def on_start(self) -> None:
        await super().on_start()
        # Before the agents and timers start (they are the app's children); the exit stack is
        # closed after they have stopped.
        await self._clients.open(self.async_exit_stack)


def new_faust_app(
    app_id: str, kafka: KafkaSettings, process: ProcessSettings, clients: WorkerClients[Any]
) -> faust.App:
    datadir = process.state_dir / "faust" / f"{app_id}-{process.worker_id}"
    datadir.parent.mkdir(parents=True, exist_ok=True)
    return WorkerApp(
        app_id,
        clients,
        broker=f"imgpipe-kafka://{kafka.kafka_bootstrap_servers}",
        # A new consumer group starts from the beginning: rows published before the first worker
        # joined are work to do, not history to skip.
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Workers are many per machine; the web UI would make them fight over one port.
        web_enabled=False,
        datadir=str(datadir),
        broker_commit_interval=1.0,
        # A worker killed with -9 holds its partitions until its session expires: keep it short
        # (Faust's default is 60 s) so the group moves its work to the survivors quickly.
        broker_session_timeout=kafka.consumer_session_timeout_s,
        broker_heartbeat_interval=kafka.consumer_session_timeout_s / 4,
        # Faust stops fetching a partition once its stream buffer is 80% full, and its fetcher
        # then sleeps a whole second before looking again, even if the buffer has long drained.
        # A fetch (1 MB) holds up to about 7,500 small results: with Faust's 4,096 the buffer
        # filled on every fetch and the aggregator sat idle half a second each time.
        stream_buffer_maxsize=STREAM_BUFFER_MESSAGES,
        value_serializer="raw",
        key_serializer="raw",
        logging_config=None,
    )
