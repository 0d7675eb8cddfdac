"""The webhook agent's record of deliveries: one `webhooks` document per request.

Not on the request document: an attempt recorded while a redelivered result is counted would
collide with that write (see imgpipe/state/database.py), and could even undo the final status.
"""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from imgpipe.state.database import REQUESTS, WEBHOOKS, Document
from imgpipe.state.webhook_deliveries import DeliveryStatus, WebhookDelivery


async def webhook_target(db: AsyncDatabase[Document], request_id: str) -> str | None:
    """The webhook URL still to be delivered to, or None (none given, or already delivered)."""
    request = await REQUESTS.of(db).find_one({"_id": request_id}, {"webhook_url": 1})
    url: str | None = request.get("webhook_url") if request else None
    if url is None:
        return None
    record = await WEBHOOKS.of(db).find_one({"_id": request_id}, {"status": 1})
    return None if record is not None and record["status"] == DeliveryStatus.DELIVERED else url


async def record_webhook_attempt(
    db: AsyncDatabase[Document], request_id: str, attempt: WebhookDelivery, final: bool
) -> None:
    if attempt.succeeded:
        status = DeliveryStatus.DELIVERED
    else:
        status = DeliveryStatus.FAILED if final else DeliveryStatus.RETRYING
    await WEBHOOKS.of(db).update_one(
        {"_id": request_id},
        # Stored as they are: the status as its string, the attempt as its fields.
        {"$push": {"deliveries": attempt.model_dump()}, "$set": {"status": status}},
        upsert=True,
    )
