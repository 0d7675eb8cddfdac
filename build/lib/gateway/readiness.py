"""Whether the gateway's dependencies answer right now: MongoDB and the Kafka broker."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.database import Document
from imgpipe.retrying import UNAVAILABLE

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


async def dependency_states(db: AsyncDatabase[Document], producer: AIOKafkaProducer) -> dict[str, str]:
    mongodb, kafka = await asyncio.gather(mongodb_state(db), kafka_state(producer))
    return {"mongodb": mongodb, "kafka": kafka}
