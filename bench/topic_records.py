"""Reading imgpipe's topics from outside any consumer group: how many messages they hold, and the
records written since a moment (their timestamps say when the service that sent each made it)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


async def topic_ends(consumer: AIOKafkaConsumer, topic: str, partitions: int) -> dict[TopicPartition, int]:
    """The offset the next message of each partition will get."""
    ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    return {partition: int(end) for partition, end in ends.items()}


async def messages_in_topic(consumer: AIOKafkaConsumer, topic: str, partitions: int) -> int:
    return sum((await topic_ends(consumer, topic, partitions)).values())


async def records_since(
    bootstrap_servers: str, starts: dict[TopicPartition, int]
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record from `starts` (offsets by partition, of any topics) to the partitions' ends now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(starts))
        for partition, offset in starts.items():
            consumer.seek(partition, offset)
        ends = await consumer.end_offsets(list(starts))
        unread = {partition for partition, offset in starts.items() if offset < ends[partition]}
        records: list[ConsumerRecord[bytes, bytes]] = []
        while unread:
            for partition, batch in (await consumer.getmany(*unread, timeout_ms=1000)).items():
                records.extend(record for record in batch if record.offset < ends[partition])
                if await consumer.position(partition) >= ends[partition]:
                    unread.discard(partition)
        return records
    finally:
        await consumer.stop()
