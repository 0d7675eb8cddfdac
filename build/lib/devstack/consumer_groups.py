"""Whether a consumer group has settled: used before timing or testing anything that consumes."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

PROCESSORS_GROUP = "imgpipe-processors"


async def stable_group_members(bootstrap: str, group: str) -> int:
    """How many members a consumer group has, once it is stable (no rebalance going on); else 0.

    A worker joining late rebalances the group, and rows its peers had in flight are processed
    again: a test or a benchmark starts only once the group has settled.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    except KafkaError:
        return 0  # the group's coordinator is still being elected
    finally:
        await admin.close()
    _error, _group_id, state, _protocol_type, _protocol, members, *_ = response.groups[0]
    return len(members) if state == "Stable" else 0
