"""Deliver a completion event to the request's webhook: signed, retried, guarded, recorded.

The body is the event exactly as published on imgpipe.events. The signature is
`X-Imgpipe-Signature: sha256=<hex>`, an HMAC-SHA256 of the body with IMGPIPE_WEBHOOK_SECRET;
`X-Imgpipe-Timestamp` says when this attempt was sent. Every attempt is recorded on the request,
so status shows what happened.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from yarl import URL

from imgpipe.config.destination_guard import BlockedDestination, DestinationGuard, GuardedResolver
from imgpipe.state.webhook_deliveries import WebhookDelivery

SIGNATURE_HEADER = "X-Imgpipe-Signature"
TIMESTAMP_HEADER = "X-Imgpipe-Timestamp"


# Called after every attempt; the flag says whether it was the last one.
RecordAttempt = Callable[[WebhookDelivery, bool], Awaitable[None]]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_webhook_session(guard: DestinationGuard, timeout_s: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=GuardedResolver(guard)),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        headers={"User-Agent": "imgpipe-webhook/0.1"},
    )


@dataclass(frozen=True)
class WebhookPolicy:
    secret: str
    attempts: int
    retry_base_s: float


async def _attempt(
    session: aiohttp.ClientSession, guard: DestinationGuard, url: URL, body: bytes, secret: str
) -> tuple[int | None, str | None]:
    """(HTTP status, None) or (None, why it failed); BlockedDestination propagates."""
    try:
        guard.check_url(url)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            TIMESTAMP_HEADER: str(int(time.time())),
        }
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as response:
            return response.status, None
    except TimeoutError:
        return None, "timeout"
    except (aiohttp.ClientError, OSError) as error:
        return None, f"connection failed: {error}"


async def deliver_webhook(
    session: aiohttp.ClientSession,
    guard: DestinationGuard,
    url: str,
    body: bytes,
    policy: WebhookPolicy,
    record: RecordAttempt,
) -> bool:
    """POST until a 2xx answer or `policy.attempts` tries, waiting base·2ⁿ (with jitter) between."""
    for attempt in range(1, policy.attempts + 1):
        try:
            status_code, error = await _attempt(session, guard, URL(url), body, policy.secret)
        except BlockedDestination as blocked:
            # Not a transient failure: trying again cannot make the destination allowed.
            failure = WebhookDelivery(
                attempt=attempt,
                at=datetime.now(UTC),
                status_code=None,
                error=f"blocked_destination: {blocked}",
            )
            await record(failure, True)
            return False
        result = WebhookDelivery(attempt=attempt, at=datetime.now(UTC), status_code=status_code, error=error)
        await record(result, result.succeeded or attempt == policy.attempts)
        if result.succeeded:
            return True
        if attempt < policy.attempts:
            delay = policy.retry_base_s * 2 ** (attempt - 1)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
    return False
