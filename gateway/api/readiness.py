"""Whether the gateway's dependencies answer right now: MongoDB, the Kafka broker and the storage."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.runtime.retrying import UNAVAILABLE
from imgpipe.state.database import Document
from imgpipe.storage.base import ObjectStorage, StorageMisconfigured

CHECK_TIMEOUT_S = 2.0


async def mongodb_state(db: AsyncDatabase[Document]) -> str:
    try:
        await asyncio.wait_for(db.command("ping"), CHECK_TIMEOUT_S)
    except UNAVAILABLE as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"


async def kafka_state(producer: AIOKafkaProducer) -> str:
    try:
        # A metadata round trip proves a broker answers, not just that a socket was once open.
        await asyncio.wait_for(producer.client.fetch_all_metadata(), CHECK_TIMEOUT_S)
    except UNAVAILABLE as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"


async def storage_state(storage: ObjectStorage) -> str:
    try:
        await asyncio.wait_for(storage.check(), CHECK_TIMEOUT_S)
    except (*UNAVAILABLE, StorageMisconfigured) as error:
        return f"unavailable: {type(error).__name__}"
    return "ok"


async def dependency_states(
    db: AsyncDatabase[Document], producer: AIOKafkaProducer, storage: ObjectStorage
) -> dict[str, str]:
    mongodb, kafka, stored = await asyncio.gather(
        mongodb_state(db), kafka_state(producer), storage_state(storage)
    )
    return {"mongodb": mongodb, "kafka": kafka, "storage": stored}
