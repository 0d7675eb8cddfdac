"""Retention reaches what the previous release stored: after an upgrade, its requests expire a
retention later, and once none of them is left the outputs it stored before periods (`images/`)
go too, their URLs answering 410. Staged with a retention of seconds on the recorded layout-1 data
(tests/fixtures/layout_v1), on files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.sync_run import run_sync
from devstack.waiting import wait_until
from imgpipe.storage.factory import open_storage
from imgpipe.storage.request_paths import CONTENT_IMAGES_PREFIX
from tests.support.helpers import read_csv
from tests.support.layout_fixtures import LAYOUT_V1_FIXTURES, serving_old_sources, upgraded_stack
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

FIXTURES = LAYOUT_V1_FIXTURES
RETENTION_S = 15.0
# The old unfinished request is repaired after IMGPIPE_STALL_SECONDS (30 s), then kept a retention;
# the expiry runs every 10 s.
EXPIRY_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def upgraded_briefly() -> Iterator[RunningStack]:
    with (
        serving_old_sources(FIXTURES),
        upgraded_stack(
            FIXTURES, "retention", {"IMGPIPE_RETENTION_DAYS": str(RETENTION_S / 86400)}, processor_count=1
        ) as stack,
    ):
        yield stack


def _expired(stack: RunningStack, request_id: str) -> Callable[[], bool]:
    return lambda: httpx.get(f"{stack.base_url}/status/{request_id}", timeout=10).status_code == 410


def test_the_previous_release_s_requests_and_outputs_expire_after_the_upgrade(
    upgraded_briefly: RunningStack,
) -> None:
    stack = upgraded_briefly
    recorded_csv = FIXTURES.objects()[f"{FIXTURES.finished_id}/output.csv"]
    rows = read_csv(recorded_csv.decode())[1:]
    image_paths = [urlsplit(url).path for cells in rows for url in cells[3].split(",") if url]
    assert httpx.get(stack.base_url + image_paths[0], timeout=10).status_code == 200

    # The finished one: a retention from the upgrade on. The unfinished one: finished by the repair
    # (its published rows died with the old broker), then a retention.
    for request_id in (FIXTURES.finished_id, FIXTURES.unfinished_id):
        wait_until(_expired(stack, request_id), EXPIRY_TIMEOUT_S, f"{request_id} to expire")

    # None of the requests from before the upgrade is left: the outputs from before periods go.
    storage = open_storage(stack.settings.storage, stack.settings.base_url)
    wait_until(
        lambda: not run_sync(storage.holds_objects(CONTENT_IMAGES_PREFIX)),
        EXPIRY_TIMEOUT_S,
        "the outputs from before periods to go",
    )
    for path in image_paths:
        gone = httpx.get(stack.base_url + path, timeout=10)
        assert gone.status_code == 410 and gone.json()["error"] == "expired", path
