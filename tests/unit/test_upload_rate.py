"""The minutes of the upload rate: slot ids and the Retry-After of a full minute. (Taking slots
needs the database: tests/integration/test_upload_limits.py.)"""

from __future__ import annotations

from typing import cast

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from gateway.api.upload_rate import UploadRate, minute_prefix
from imgpipe.state.database import Document
from imgpipe.state.numbered_slots import slot_id

NO_DATABASE = cast(AsyncDatabase[Document], None)


@pytest.mark.parametrize(("now", "wait"), [(120.0, 60), (120.2, 60), (150.0, 30), (179.5, 1), (179.999, 1)])
def test_retry_after_is_the_whole_seconds_to_the_next_minute_and_never_zero(now: float, wait: int) -> None:
    assert UploadRate(NO_DATABASE, clock=lambda: now).seconds_to_next_minute() == wait


def test_a_slot_names_its_owner_minute_and_place_and_the_open_api_is_one_owner() -> None:
    assert slot_id(minute_prefix("0123456789abcdef", 29_000_000), 3) == "0123456789abcdef/29000000/3"
    assert slot_id(minute_prefix(None, 29_000_000), 0) == "open/29000000/0"


def test_a_minute_no_upload_was_seen_in_is_not_known_to_be_full() -> None:
    assert not UploadRate(NO_DATABASE, clock=lambda: 120.0).known_full("0123456789abcdef", 1)
