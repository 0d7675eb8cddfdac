"""Deleting output periods: a whole prefix of outputs once no request can still use it.

Outputs are stored by period of their requests' retention (imgpipe/storage/output_periods.py). A period
of retention r can be deleted once every request unfinished during it has finished (none of
the unfinished requests of that retention was accepted before the period ended) and r has passed
since that was first seen: each of those requests then expired. The first sighting is recorded
in `output_periods` (`_id` the period's prefix), so a restart does not start the wait over.

The periods are found by listing the storage one level at a time (a few prefixes per retention),
and a period's objects are deleted by prefix: the cost is what is deleted, never what is kept.
Outputs stored before periods (under `images/`) go once every request accepted before the upgrade
has expired (`expire_legacy_outputs`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from imgpipe.config.settings import LifecycleSettings
from imgpipe.state.database import LAYOUT, OUTPUT_PERIODS, Document, RequestDocument
from imgpipe.state.migration_runner import applied_id
from imgpipe.state.migrations import FIRST_RETENTION_MIGRATION
from imgpipe.state.retention import retention_of
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.output_periods import OUTPUTS_PREFIX, WRITES_SETTLE, OutputPeriod
from imgpipe.storage.periods import period_length
from imgpipe.storage.request_paths import CONTENT_IMAGES_PREFIX

logger = logging.getLogger(__name__)

OUTPUTS_EXPIRED = Counter("imgpipe_outputs_expired_total", "Output images deleted with their period")


def oldest_unfinished(
    requests: Sequence[RequestDocument], lifecycle: LifecycleSettings
) -> dict[int, datetime]:
    """Per retention (whole seconds, as periods have it), when its oldest unfinished request was accepted."""
    oldest: dict[int, datetime] = {}
    for request in requests:
        length = period_length(retention_of(request, lifecycle).total_seconds())
        if length not in oldest or request["created_at"] < oldest[length]:
            oldest[length] = request["created_at"]
    return oldest


def drained(period: OutputPeriod, oldest: dict[int, datetime], now: datetime) -> bool:
    """Whether no unfinished request can use the period any more: it ended (give or take the
    clocks' disagreement) before the oldest unfinished request of its retention was accepted. A
    unfinished request uses only periods from its acceptance on, whenever its rows are stored."""
    in_use_from = min(oldest.get(period.length_s, now), now)
    return period.ends_at + WRITES_SETTLE <= in_use_from


async def _periods(storage: ObjectStorage) -> list[OutputPeriod]:
    found = []
    for retention_prefix in await storage.child_prefixes(OUTPUTS_PREFIX):
        for prefix in await storage.child_prefixes(retention_prefix):
            period = OutputPeriod.parse(prefix)
            if period is not None:
                found.append(period)
    return sorted(found)


async def expire_legacy_outputs(
    db: AsyncDatabase[Document],
    storage: ObjectStorage,
    lifecycle: LifecycleSettings,
    oldest: dict[int, datetime],
    now: datetime,
) -> None:
    """Outputs stored before periods (`images/`): deleted once every request that can name them has
    expired. Those are the requests accepted before the upgrade (the layout-2 migration, 0001):
    the finished ones it gave a retention from its run on, the ones in flight then a retention from
    their finish. So: once none of those is in flight, and the retention has passed since. Its
    record stays, with `deleted_at`, so that their URLs answer 410 (gateway/api/routes/images.py)."""
    record = await OUTPUT_PERIODS.of(db).find_one({"_id": CONTENT_IMAGES_PREFIX})
    if not await storage.holds_objects(CONTENT_IMAGES_PREFIX):
        return
    if record is not None and "deleted_at" in record:
        await storage.delete_prefix(CONTENT_IMAGES_PREFIX)  # a deletion cut short, or a late writer
        return
    upgraded = await LAYOUT.of(db).find_one({"_id": applied_id(FIRST_RETENTION_MIGRATION)})
    if upgraded is None or min(oldest.values(), default=now) < upgraded["applied_at"] + WRITES_SETTLE:
        return  # not upgraded yet, or a request accepted before the upgrade is still in flight
    if record is None:
        with contextlib.suppress(DuplicateKeyError):
            await OUTPUT_PERIODS.of(db).insert_one({"_id": CONTENT_IMAGES_PREFIX, "drained_at": now})
        return
    if record["drained_at"] + timedelta(days=lifecycle.retention_days) > now:
        return
    await OUTPUT_PERIODS.of(db).update_one({"_id": CONTENT_IMAGES_PREFIX}, {"$set": {"deleted_at": now}})
    deleted = await storage.delete_prefix(CONTENT_IMAGES_PREFIX)
    OUTPUTS_EXPIRED.inc(deleted)
    logger.info("outputs stored before periods expired: %d objects deleted", deleted)


async def _delete_when_out_of_use(
    db: AsyncDatabase[Document], storage: ObjectStorage, prefix: str, retention: timedelta, now: datetime
) -> None:
    """`prefix` is out of use by any unfinished request: recorded the first time, deleted once a
    retention has passed since (every request that used it has then expired)."""
    record = await OUTPUT_PERIODS.of(db).find_one({"_id": prefix})
    if record is None:
        with contextlib.suppress(DuplicateKeyError):
            await OUTPUT_PERIODS.of(db).insert_one({"_id": prefix, "drained_at": now})
        return
    if record["drained_at"] + retention > now:
        return
    # The record goes first: a kill before the objects are gone only starts the wait again.
    await OUTPUT_PERIODS.of(db).delete_one({"_id": prefix})
    deleted = await storage.delete_prefix(prefix)
    OUTPUTS_EXPIRED.inc(deleted)
    logger.info("outputs under %s expired: %d objects deleted", prefix, deleted)


async def expire_output_periods(
    db: AsyncDatabase[Document], storage: ObjectStorage, oldest: dict[int, datetime], now: datetime
) -> None:
    for period in await _periods(storage):
        if drained(period, oldest, now):
            await _delete_when_out_of_use(db, storage, period.prefix, timedelta(seconds=period.length_s), now)
