"""Every database access a request causes is one FerretDB answers from its primary key.

FerretDB 1.24 on SQLite pushes only a plain `{"_id": <string>}` filter down to SQL and decodes
the whole collection for any other (imgpipe/state/database.py). The test stack runs every service with
IMGPIPE_LOG_DATABASE_COMMANDS on, so each command's collection and filter shape is in the service
logs. A request goes from upload to completion, with every read a client makes (status with and
without rows, the event stream, the download, the webhook), and the periodic scans run at least
once; then every logged filter must be a single `_id`, or the listing of the requests in flight.
"""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from pymongo import MongoClient

from imgpipe.state.database import SOURCE_CACHE, UPLOAD_SLOTS, Document
from tests.support.database_commands import log_positions, logged_commands
from tests.support.helpers import product_csv, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration

# Reading the whole of `unfinished_requests` costs the requests in flight, not the database (and
# reading one of its entries by `_id` is pushed down like any other).
IN_FLIGHT_LISTING = {("find", "unfinished_requests"), ("aggregate", "unfinished_requests")}
# The in-flight scans run every 5 s (aggregator and gateway).
SCAN_INTERVAL_S = 5.0


BY_ID = ({"_id": "str"}, {"_id": "ObjectId"})


def _kind(collection: str) -> str:
    """The collection, or for one of a period, the name of its kind (`source_cache`)."""
    for kept in (SOURCE_CACHE, UPLOAD_SLOTS):
        if kept.period_of(collection) is not None:
            return kept.base
    return collection


def _pushed_down(command: dict[str, object]) -> bool:
    filters = command["filters"]
    assert isinstance(filters, list)
    if (command["command"], command["collection"]) in IN_FLIGHT_LISTING:
        return all(filter_ == {} or filter_ in BY_ID for filter_ in filters)
    return all(filter_ in BY_ID for filter_ in filters)


def test_every_access_from_upload_to_completion_is_by_id(
    stack: RunningStack, image_server: LocalHttpServer, webhook_receiver: LocalHttpServer
) -> None:
    images = [
        image_server.add(f"/shapes/{n}.jpg", Resource(photo_like_image(32, 24, seed=n), "image/jpeg"))
        for n in range(4)
    ]
    rows = [
        ("1", "A", images[:2]),
        ("2", "B", images[2:]),
        ("3", "C", [image_server.url("/shapes/missing.jpg")]),
    ]
    # From here on: a service's start may scan once (the migrations list their items), never a request.
    since = log_positions(stack.paths)
    response = upload(stack.base_url, product_csv(rows), webhook_url=webhook_receiver.url("/shapes"))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    with httpx.stream("GET", f"{stack.base_url}/status/{request_id}/events", timeout=60) as events:
        assert sum(1 for line in events.iter_lines() if line.startswith("event: status")) >= 1
    assert wait_finished(stack.base_url, request_id)["status"] == "completed_with_errors"
    page = httpx.get(f"{stack.base_url}/status/{request_id}", params={"rows": "true", "limit": 2}).json()
    assert [row["row"] for row in page["row_details"]] == [0, 1]
    assert httpx.get(f"{stack.base_url}/download/{request_id}").status_code == 200
    deadline = time.monotonic() + 30
    while httpx.get(f"{stack.base_url}/status/{request_id}").json()["webhook"]["status"] != "delivered":
        assert time.monotonic() < deadline, "the webhook was not delivered"
        time.sleep(0.1)
    time.sleep(2 * SCAN_INTERVAL_S)

    commands = logged_commands(stack.paths, since)
    seen = Counter(
        (str(c["service"]).split("-")[0], c["command"], _kind(str(c["collection"]))) for c in commands
    )
    # The log really covers the request's path: the gateway's writes and reads, the aggregator's,
    # the processors' source cache lookups and entries.
    for expected in [
        ("gateway", "insert", "requests"),
        ("gateway", "find", "request_states"),
        ("gateway", "find", "row_chunks"),
        ("gateway", "find", "unfinished_requests"),
        ("aggregator", "insert", "row_outcomes"),
        ("aggregator", "insert", "row_chunks"),
        ("aggregator", "insert", "request_states"),
        ("aggregator", "find", "unfinished_requests"),
        ("aggregator", "delete", "unfinished_requests"),
        ("aggregator", "update", "webhooks"),
        ("aggregator", "insert", "expiry_queue"),
        ("processor", "find", "source_cache"),
        ("processor", "insert", "source_cache"),
    ]:
        assert seen[expected], f"no {expected} in the logs: {sorted(seen)}"
    scans = [c for c in commands if not _pushed_down(c)]
    assert scans == [], f"{len(scans)} accesses FerretDB would answer by decoding a collection"


def test_a_read_by_id_uses_the_id_index(stack: RunningStack, mongo: MongoClient[Document]) -> None:
    """Pushed down is not enough: FerretDB 1.24 as shipped pushes `{_id: …}` down as an expression
    its own `_id` index does not match, so SQLite scans the table (devstack/mongodb.py)."""
    db = mongo[stack.settings.mongodb_database]
    db.index_probe.insert_many([{"_id": f"probe:{n}"} for n in range(100)])
    explained = db.command("explain", {"find": "index_probe", "filter": {"_id": "probe:7"}, "limit": 1})
    db.index_probe.drop()
    if "ferretdbVersion" not in explained.get("serverInfo", {}):
        pytest.skip("not FerretDB: MongoDB always answers an _id filter from its _id index")
    plan = " ".join(explained["queryPlanner"]["Plan"])
    assert "USING INDEX" in plan and "SCAN" not in plan, plan
