"""A downstream consumer of imgpipe's completion events, in plain aiokafka (no imgpipe imports).

    python examples/consume_events.py --bootstrap 127.0.0.1:9092 [--group my-team]
                                      [--from-beginning] [--exit-when-idle SECONDS]

Prints one line per finished request. Each message on `imgpipe.events` is JSON (see
schemas/imgpipe.events.schema.json), keyed by request id. Delivery is at least once: the same
event may arrive twice after a crash, so act on `request_id` idempotently.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from aiokafka import AIOKafkaConsumer

TOPIC = "imgpipe.events"
SUPPORTED_SCHEMA_VERSION = 1


def describe(event: dict[str, object]) -> str:
    counts = event["counts"]
    assert isinstance(counts, dict)
    return (
        f"{event['type']} {event['request_id']} {event['status']}: "
        f"{counts['images_done']}/{counts['images_total']} images, "
        f"CSV at {event['download_url']}"
    )


async def consume(bootstrap: str, group: str, from_beginning: bool, idle_exit_s: float | None) -> None:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
        while True:
            try:
                message = await asyncio.wait_for(consumer.getone(), idle_exit_s)
            except TimeoutError:
                break  # nothing new for --exit-when-idle seconds
            event = json.loads(message.value)
            if event.get("schema_version") != SUPPORTED_SCHEMA_VERSION:
                sys.exit(f"unknown schema_version {event.get('schema_version')}: upgrade this consumer")
            print(describe(event), flush=True)
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--group", default="imgpipe-example-consumer")
    parser.add_argument("--from-beginning", action="store_true")
    parser.add_argument("--exit-when-idle", type=float, metavar="SECONDS", help="stop when idle this long")
    args = parser.parse_args()
    asyncio.run(consume(args.bootstrap, args.group, args.from_beginning, args.exit_when_idle))


if __name__ == "__main__":
    main()
