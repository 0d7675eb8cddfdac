"""Row messages that cannot be processed: to imgpipe.rows.dlq, and their row still finishes.

A message that cannot be decoded, or whose processing raises, is published to the DLQ with the
reason and its original bytes. A failed result is then published for its row (when the row can
be identified from the message or its `request_id:row` key), so the request completes instead of
waiting forever for a row that will never come.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from imgpipe.contract.messages import (
    DeadLetter,
    DeadLetterReason,
    ErrorCode,
    ImageError,
    ImageOutcome,
    RowMessage,
    RowResult,
)


def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    reason: DeadLetterReason,
    error: str,
    worker_id: str,
) -> DeadLetter:
    return DeadLetter(
        source_topic=topic,
        partition=partition,
        offset=offset,
        key=key.decode(errors="replace") if key is not None else None,
        value_base64=base64.b64encode(value).decode(),
        reason=reason,
        error=error,
        worker_id=worker_id,
        at=datetime.now(UTC),
    )


def failed_row_result(
    request_id: str, row: int, worker_id: str, reason: str, message: RowMessage | None
) -> RowResult:
    """Every image of the row (when known) fails with `processing_failed`."""
    urls = message.input_urls if message is not None else []
    error = ImageError(code=ErrorCode.PROCESSING_FAILED, message=reason)
    return RowResult(
        request_id=request_id,
        row=row,
        images=[ImageOutcome(input_url=url, error=error) for url in urls],
        worker_id=worker_id,
        duration_ms=0.0,
        error=reason,
    )
