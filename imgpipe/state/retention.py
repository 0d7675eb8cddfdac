"""How long a finished request is kept: the one rule every service applies to find its expiry.

A request carries its own retention (`retention_s`), fixed by the gateway when it is accepted from
its key's policy (IMGPIPE_RETENTION_DAYS, or the key's `retention_days` in the keys file), so that
changing the settings later moves no request's expiry. Requests accepted before retention existed
carry none and are kept for the current IMGPIPE_RETENTION_DAYS.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from imgpipe.config.settings import LifecycleSettings
from imgpipe.state.database import RequestDocument

DAY_S = 24 * 3600.0
# IMGPIPE_RETENTION_DAYS's default, in seconds.
DEFAULT_RETENTION_S = LifecycleSettings.model_fields["retention_days"].default * DAY_S


def retention_of(request: RequestDocument, lifecycle: LifecycleSettings) -> timedelta:
    return timedelta(seconds=request.get("retention_s", lifecycle.retention_days * DAY_S))


def expiry_of(request: RequestDocument, completed_at: datetime, lifecycle: LifecycleSettings) -> datetime:
    """When a request that finished at `completed_at` expires, to the millisecond: as the database
    stores it, so that the completion event and the status say the same instant."""
    expires_at = completed_at + retention_of(request, lifecycle)
    return expires_at.replace(microsecond=expires_at.microsecond // 1000 * 1000)
