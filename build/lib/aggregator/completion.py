"""Finish a request once every row is in: output CSV, completion event, final status.

The order matters for crash safety: the event is published before the status is set, so a crash
in between leaves the request unfinished, and the redelivered results finish it again (the CSV
is rewritten atomically; downstream may see the event twice, never zero times).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from aggregator.output_csv import write_output_csv
from aggregator.result_store import finished_row_outputs, mark_finished
from imgpipe.database import Document
from imgpipe.input_spool import input_spool_path, read_input_spool
from imgpipe.messages import FINISHED_STATUSES, RequestCounts, RequestEvent, RequestStatus
from imgpipe.request_paths import download_url, output_csv_path, request_dir
from imgpipe.settings import Settings

PublishEvent = Callable[[RequestEvent], Awaitable[None]]


def all_rows_finished(request: Document) -> bool:
    return bool(request["rows_done"] + request["rows_failed"] >= request["rows_total"])


def _final_status(request: Document) -> RequestStatus:
    if request["images_failed"] or request["rows_failed"]:
        return RequestStatus.COMPLETED_WITH_ERRORS
    return RequestStatus.COMPLETED


async def finish_request(
    db: AsyncDatabase[Document], settings: Settings, request: Document, publish: PublishEvent
) -> None:
    if request["status"] in FINISHED_STATUSES or not all_rows_finished(request):
        return
    request_id = request["_id"]
    outputs = await finished_row_outputs(db, request_id)
    directory = request_dir(settings.processed_images_dir, request_id)
    await asyncio.to_thread(
        write_output_csv,
        read_input_spool(input_spool_path(directory)),
        outputs,
        output_csv_path(settings.processed_images_dir, request_id),
    )
    status = _final_status(request)
    completed_at = datetime.now(UTC)
    await publish(
        RequestEvent(
            type="request.completed",
            request_id=request_id,
            status=status,
            counts=RequestCounts.model_validate(request),
            download_url=download_url(settings.base_url, request_id),
            created_at=request["created_at"],
            completed_at=completed_at,
        )
    )
    await mark_finished(db, request_id, status, completed_at)
