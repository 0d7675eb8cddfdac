"""A request's webhook deliveries: what the aggregator stores in `webhooks` and GET /status answers.

One attempt's shape is defined here once: the aggregator's webhook agent makes it
(aggregator/webhook.py), stores it as it is (aggregator/webhook_store.py), and the gateway returns
it from the stored document. A delivery's status is a closed set, stored as these strings.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # no attempt yet: answered, never stored
    RETRYING = "retrying"  # an attempt failed and another is due
    DELIVERED = "delivered"  # an attempt got a 2xx answer
    FAILED = "failed"  # every attempt failed, or the destination is not allowed


class WebhookDelivery(BaseModel):
    """One attempt to POST a request's completion event to its webhook."""

    model_config = ConfigDict(frozen=True)

    attempt: int  # from 1
    at: datetime
    status_code: int | None  # the answer's; None when there was none
    error: str | None  # why there was no answer

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
