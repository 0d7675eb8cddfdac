"""Deleting output periods: a whole prefix of outputs once no request can still use it.

Outputs are stored by period of their requests' retention (imgpipe/output_periods.py). A period
of retention r can be deleted once every request unfinished during it has finished (none of
the requests in flight of that retention was accepted before the period ended) and r has passed
since that was first seen: each of those requests then expired. The first sighting is recorded
in `output_periods` (`_id` the period's prefix), so a restart does not start the wait over.

The periods are found by listing the storage one level at a time (a few prefixes per retention),
and a period's objects are deleted by prefix: the cost is what is deleted, never what is kept.
Legacy outputs (under `images/`, stored before periods) are kept: nothing records who uses them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from imgpipe.database import OUTPUT_PERIODS, Document, RequestDocument
from imgpipe.output_periods import OUTPUTS_PREFIX, WRITES_SETTLE, OutputPeriod
from imgpipe.periods import period_length
from imgpipe.retention import retention_of
from imgpipe.settings import Settings
from imgpipe.storage.base import ObjectStorage

logger = logging.getLogger(__name__)

OUTPUTS_EXPIRED = Counter("imgpipe_outputs_expired_total", "Output images deleted with their period")


def oldest_unfinished(requests: Sequence[RequestDocument], settings: Settings) -> dict[int, datetime]:
    """Per retention (whole seconds, as periods have it), when its oldest request in flight was accepted."""
    oldest: dict[int, datetime] = {}
    for request in requests:
        length = period_length(retention_of(request, settings).total_seconds())
        if length not in oldest or request["created_at"] < oldest[length]:
            oldest[length] = request["created_at"]
    return oldest


def drained(period: OutputPeriod, oldest: dict[int, datetime], now: datetime) -> bool:
    """Whether no request in flight can use the period any more: it ended (give or take the
    clocks' disagreement) before the oldest request in flight of its retention was accepted. A
    request in flight uses only periods from its acceptance on, whenever its rows are stored."""
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


async def expire_output_periods(
    db: AsyncDatabase[Document], storage: ObjectStorage, oldest: dict[int, datetime], now: datetime
) -> None:
    for period in await _periods(storage):
        if not drained(period, oldest, now):
            continue
        record = await OUTPUT_PERIODS.of(db).find_one({"_id": period.prefix})
        if record is None:
            with contextlib.suppress(DuplicateKeyError):
                await OUTPUT_PERIODS.of(db).insert_one({"_id": period.prefix, "drained_at": now})
            continue
        if record["drained_at"] + timedelta(seconds=period.length_s) > now:
            continue
        # The record goes first: a kill before the objects are gone only starts the wait again.
        await OUTPUT_PERIODS.of(db).delete_one({"_id": period.prefix})
        deleted = await storage.delete_prefix(period.prefix)
        OUTPUTS_EXPIRED.inc(deleted)
        logger.info("outputs of period %s expired: %d objects deleted", period.prefix, deleted)
