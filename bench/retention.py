"""`retention.*`: how fast finished requests are deleted at the end of their retention, on an empty
database and beside a million other stored rows (`delete_ratio`: deletion must not slow down as the
database grows).

Requests are staged as the gateway and the aggregator store them (bench/stored_rows.py), each with
its accepted CSV in storage and a retention already over, then deleted by the expiry's own
function (aggregator/expiry.py): every document by `_id`, the objects by prefix. The figure is
rows deleted per second, with everything of their requests.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.expiry import expire_request
from bench.disk_usage import disk_usage
from bench.image_server import IMAGE_SERVER_PORT
from bench.partial_run import measure_into_last_results
from bench.stack import BenchStack, running_bench_stack
from bench.stored_rows import record_spool, stage_finished_request, stage_finished_rows
from imgpipe.config.settings import Settings
from imgpipe.state.database import connect, database
from imgpipe.state.expiry_queue import ExpiryQueue
from imgpipe.storage.factory import open_storage

# 20 requests of 2,000 rows: a few seconds of deleting, the size of a day's small uploads.
EXPIRING_REQUESTS = 20
EXPIRING_ROWS = 40_000
STORED_ROWS = 1_000_000
# Already over when the deletion starts.
PAST_RETENTION_S = 0.001


async def _delete_rows_per_s(settings: Settings, rows: int) -> float:
    client = connect(settings.database)
    rows_each = rows // EXPIRING_REQUESTS
    try:
        db, storage = database(client, settings.database), open_storage(settings.storage, settings.base_url)
        request_ids = []
        for _ in range(EXPIRING_REQUESTS):
            request_id = await stage_finished_request(db, rows_each, retention_s=PAST_RETENTION_S)
            await record_spool(settings, request_id, rows_each)
            request_ids.append(request_id)
        queue = ExpiryQueue(db)
        started = time.perf_counter()
        for request_id in request_ids:
            assert await expire_request(db, storage, settings.lifecycle, queue, request_id, datetime.now(UTC))
        return EXPIRING_REQUESTS * rows_each / (time.perf_counter() - started)
    finally:
        await client.close()


def delete_rows_per_s(settings: Settings, rows: int) -> float:
    return asyncio.run(_delete_rows_per_s(settings, rows))


def measure_retention(stack: BenchStack, stored_rows: int, expiring_rows: int) -> dict[str, Any]:
    """Deleting `expiring_rows` on the database as it is, then again once `stored_rows` more
    finished rows are stored."""
    alone = delete_rows_per_s(stack.settings, expiring_rows)
    print(f"  deleted {alone:.0f} rows/s beside nothing more", flush=True)
    before = disk_usage(stack.paths.mongodb_data).bytes
    stage_finished_rows(stack.settings, stored_rows)
    # What a finished row costs the database on disk (FerretDB's SQLite files), for sizing.
    bytes_per_row = (disk_usage(stack.paths.mongodb_data).bytes - before) / stored_rows
    beside = delete_rows_per_s(stack.settings, expiring_rows)
    print(f"  deleted {beside:.0f} rows/s beside {stored_rows:,} more stored rows", flush=True)
    return {
        "rows_deleted": expiring_rows,
        "stored_rows": stored_rows,
        "delete_rows_per_s_alone": alone,
        "delete_rows_per_s": beside,
        "delete_ratio": beside / alone,
        "database_bytes_per_row": bytes_per_row,
    }


def main() -> None:
    """Measure retention alone on a fresh bench stack and put it into the last `make bench`'s results."""

    def measure_alone(results: dict[str, Any], image_dir: Path) -> dict[str, Any]:
        with running_bench_stack(IMAGE_SERVER_PORT, processors=0) as stack:
            # Beside the soak's figures, if `make bench-soak` ran since.
            return {**results.get("retention", {}), **measure_retention(stack, STORED_ROWS, EXPIRING_ROWS)}

    measure_into_last_results("retention", measure_alone)


if __name__ == "__main__":
    main()
