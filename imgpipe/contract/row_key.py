"""`request_id:row`: the identity of one CSV row of one request.

It is the Kafka key of `imgpipe.rows` (keyed per row, so one large request spreads over every
partition and worker) and the `_id` of the row's outcome in MongoDB. Built and parsed here only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowKey:
    request_id: str
    row: int

    def __str__(self) -> str:
        return f"{self.request_id}:{self.row}"

    def encode(self) -> bytes:
        return str(self).encode()

    @classmethod
    def parse(cls, key: str | bytes | None) -> RowKey | None:
        """The key a message carries, or None when it has none or one of another shape."""
        if key is None:
            return None
        text = key.decode(errors="replace") if isinstance(key, bytes) else key
        # The request id is a UUID today, but the row number is whatever follows the last colon.
        request_id, separator, row = text.rpartition(":")
        if not separator or not row.isascii() or not row.isdigit():
            return None
        return cls(request_id, int(row))
