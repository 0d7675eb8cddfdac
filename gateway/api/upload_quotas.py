"""Each key's limits on the work it holds unfinished and on its uploads per minute: 429.

Checked where a refusal costs least and leaves nothing behind (gateway/api/routes/upload.py): before
the file is read, what needs no file (unfinished requests, a minute this gateway already knows to
be full); once the CSV is validated and before anything is stored, what needs its rows; the rate
slot last, so that an upload refused for anything else takes none. The upload is counted as
unfinished work (`UnfinishedWork.accepted`) before its slot is taken, with nothing awaited between
the check and the count: two uploads of one owner on one gateway never both pass a limit that
only one fits under. One then refused for the rate, or failing later, is withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from gateway.api.api_keys import OPEN_OWNER
from gateway.api.dependencies import GatewayState
from gateway.api.errors import ApiError
from gateway.api.key_policies import KeyPolicy
from gateway.api.metrics import UPLOADS_REFUSED
from gateway.publishing.unfinished_work import OwnerUsage

# When a key's unfinished work is at its limit, the wait worth trying again after: the requests in
# flight are walked every second and a small request finishes within seconds, while a client that
# waits this long costs the gateway at most one refused upload every 10 s.
UNFINISHED_RETRY_AFTER_S = 10


@dataclass(frozen=True)
class Quota:
    limit: str  # the name of the limit in the keys file, in KeyPolicy and in the 429 body
    code: str


UNFINISHED_REQUESTS = Quota("max_unfinished_requests", "too_many_unfinished_requests")
UNFINISHED_ROWS = Quota("max_unfinished_rows", "too_many_unfinished_rows")
ROWS_PER_UPLOAD = Quota("max_rows_per_upload", "too_many_rows_per_upload")
UPLOAD_RATE = Quota("max_uploads_per_minute", "upload_rate_exceeded")


def _refuse(
    owner: str | None, quota: Quota, value: int, usage: int, retry_after_s: int, message: str
) -> NoReturn:
    UPLOADS_REFUSED.labels(owner or OPEN_OWNER, quota.limit).inc()
    raise ApiError(
        429,
        quota.code,
        message,
        headers={"Retry-After": str(retry_after_s)},
        limit=quota.limit,
        value=value,
        usage=usage,
    )


def _holder(owner: str | None) -> str:
    """Whose limit it is, as the refusal's message says it."""
    return "this key" if owner is not None else "the open API (all uploads together)"


def _check_unfinished_requests(owner: str | None, policy: KeyPolicy, usage: OwnerUsage) -> None:
    if usage.unfinished_requests >= policy.max_unfinished_requests:
        _refuse(
            owner,
            UNFINISHED_REQUESTS,
            policy.max_unfinished_requests,
            usage.unfinished_requests,
            UNFINISHED_RETRY_AFTER_S,
            f"{_holder(owner)} is at its limit of {policy.max_unfinished_requests} unfinished requests: "
            "retry once one has finished",
        )


def _refuse_rate(state: GatewayState, owner: str | None, policy: KeyPolicy) -> NoReturn:
    limit = policy.max_uploads_per_minute
    wait = state.upload_rate.seconds_to_next_minute()
    _refuse(
        owner,
        UPLOAD_RATE,
        limit,
        limit,
        wait,
        f"{_holder(owner)} is at its limit of {limit} uploads a minute: retry in {wait} s",
    )


def refuse_before_reading(state: GatewayState, owner: str | None) -> None:
    """The limits an upload can be refused by before its file is read."""
    policy = state.api_keys.policy_of(owner)
    _check_unfinished_requests(owner, policy, state.unfinished.usage_of(owner))
    if state.upload_rate.known_full(owner, policy.max_uploads_per_minute):
        _refuse_rate(state, owner, policy)


async def admit_upload(state: GatewayState, owner: str | None, request_id: str, rows: int) -> None:
    """Check a validated upload of `rows` rows against every limit and count it: once this returns,
    the upload is accepted as far as the limits go. A request with presets counts each row once
    per output it asks for (imgpipe/contract/request_presets.py)."""
    policy = state.api_keys.policy_of(owner)
    if rows > policy.max_rows_per_upload:
        # Waiting does not help here; Retry-After is sent as with every 429.
        _refuse(
            owner,
            ROWS_PER_UPLOAD,
            policy.max_rows_per_upload,
            rows,
            UNFINISHED_RETRY_AFTER_S,
            f"the CSV has {rows} rows (counted once per output: the JPEG and each preset) and "
            f"{_holder(owner)} may upload at most {policy.max_rows_per_upload} at once: split the file",
        )
    # Checked again: other uploads may have been accepted while this file was read.
    usage = state.unfinished.usage_of(owner)
    _check_unfinished_requests(owner, policy, usage)
    if usage.rows_unfinished + rows > policy.max_unfinished_rows:
        _refuse(
            owner,
            UNFINISHED_ROWS,
            policy.max_unfinished_rows,
            usage.rows_unfinished,
            UNFINISHED_RETRY_AFTER_S,
            f"{_holder(owner)} has {usage.rows_unfinished} rows unfinished and may have "
            f"{policy.max_unfinished_rows}: the CSV's {rows} more must wait until enough have finished",
        )
    state.unfinished.accepted(request_id, owner, rows)
    if not await state.upload_rate.take_slot(owner, policy.max_uploads_per_minute):
        state.unfinished.withdrawn(request_id)
        _refuse_rate(state, owner, policy)
