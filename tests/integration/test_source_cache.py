"""Never the same work twice, as a user sees it: requests at the source, output URLs, metrics.

A local source server counts every GET (conditional ones apart) and sends validators; the stack's
two processor workers share one source cache and one store. Each test's images are its own (sizes
and seeds no other test uses), so outputs stored by other tests are never found by these.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from devstack.paths import ROOT
from devstack.sync_run import run_sync
from imgpipe.config.settings import Settings
from imgpipe.state.database import SOURCE_CACHE, Document, SourceEntry, connect, database
from imgpipe.state.retention import DEFAULT_RETENTION_S
from imgpipe.storage.factory import open_storage
from imgpipe.storage.output_periods import OutputPeriod
from processors.compress import compress_jpeg
from processors.content_address import content_name, source_digest
from processors.source_cache import SourceCache, entry_id
from tests.integration.conftest import API_KEYS
from tests.support.database_commands import log_positions, logged_commands
from tests.support.helpers import product_csv, read_csv, stored_key, upload, wait_finished
from tests.support.local_http_server import LocalHttpServer, Resource
from tests.support.photos import photo_like_image
from tests.support.stack import RunningStack, running_test_stack
from tests.support.worker_metrics import processors_total

pytestmark = pytest.mark.integration

LAST_MODIFIED = "Tue, 03 Nov 2026 10:00:00 GMT"


def _cache_collection(settings: Settings) -> str:
    """The source cache's collection of this period: where entries fetched now are."""
    return SOURCE_CACHE.at(settings.source_cache_ttl, datetime.now(UTC)).name


def _photo(seed: int) -> bytes:
    return photo_like_image(97, 61, seed=9_000 + seed)


def _compressions(stack: RunningStack) -> float:
    return processors_total(stack, "imgpipe_compressions_total")


def _origins(stack: RunningStack, origin: str) -> float:
    return processors_total(stack, "imgpipe_image_origins_total", origin=origin)


def _run(base_url: str, rows: list[list[str]], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Upload one row per URL list, wait for the end; the status with every row's details."""
    csv_text = product_csv([(str(n + 1), f"Product {n}", urls) for n, urls in enumerate(rows)])
    response = upload(base_url, csv_text, headers)
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    wait_finished(base_url, request_id, headers=headers)
    status = httpx.get(
        f"{base_url}/status/{request_id}", params={"rows": "true"}, headers=headers, timeout=30
    ).json()
    assert isinstance(status, dict)
    return status


def _images(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [image for row in status["row_details"] for image in row["images"]]


def test_a_url_repeated_in_a_request_is_fetched_once_and_every_row_gets_its_output(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    # Slow enough that both workers reach the URL while its first fetch is still running.
    repeated = image_server.add("/cache/repeated.jpg", Resource(_photo(1), "image/jpeg", delay_s=1.0))
    others = [
        image_server.add(f"/cache/other-{n}.jpg", Resource(_photo(10 + n), "image/jpeg")) for n in range(30)
    ]
    # The repeated URL in every fifth row, spread over the request and so over both workers.
    rows = [[repeated] if n % 5 == 0 else [others[n]] for n in range(30)]
    compressions = _compressions(stack)

    status = _run(stack.base_url, rows)

    assert status["status"] == "completed"
    repeated_images = [image for image in _images(status) if image["input_url"] == repeated]
    assert len(repeated_images) == 6
    assert len({image["output_url"] for image in repeated_images}) == 1
    # Once for the whole request: the worker that claimed it fetches, the other waits for it.
    assert image_server.requests.count("/cache/repeated.jpg") == 1
    origins = sorted(image["origin"] for image in repeated_images)
    assert origins == ["fetched"] + ["reused"] * 5
    assert all(image["width"] == 97 and image["height"] == 61 for image in repeated_images)
    # 24 other images and the repeated one, each compressed once.
    assert _compressions(stack) - compressions == 25
    table = read_csv(httpx.get(status["download_url"], timeout=30).text)
    assert [row[3] for row in table[1:] if row[2] == repeated] == [repeated_images[0]["output_url"]] * 6


def test_a_new_url_in_one_row_only_costs_a_lookup_and_its_rows_one_insert(
    stack: RunningStack, image_server: LocalHttpServer, mongo: MongoClient[Document]
) -> None:
    """Only a URL that appears in other rows too is claimed: the others cannot meet another
    worker, and their entries go into the database in one insert per row."""
    unique = [
        [image_server.add(f"/cache/row-{row}-{n}.jpg", Resource(_photo(1200 + 3 * row + n), "image/jpeg"))
         for n in range(3)]
        for row in range(8)
    ]  # fmt: skip
    repeated = image_server.add("/cache/in-two-rows.jpg", Resource(_photo(1250), "image/jpeg"))
    rows = [[*urls, repeated] if row in (0, 7) else urls for row, urls in enumerate(unique)]
    since = log_positions(stack.paths)

    status = _run(stack.base_url, rows)

    assert status["status"] == "completed"
    commands = Counter(
        command["command"]
        for command in logged_commands(stack.paths, since)
        if SOURCE_CACHE.period_of(str(command["collection"]))
        and command["request_id"] == status["request_id"]
    )
    # 8 rows' inserts, and the repeated URL's claim (two, when both workers reached it at once).
    # The gateway's filter also marks a URL in one row as repeated in about one such upload in
    # 3,000 (imgpipe/contract/repeated_urls.py), which claims it: two more writes.
    assert 9 <= commands["insert"] <= 10
    assert commands["update"] == 1  # the claimed URL's entry replacing its claim, and nothing else
    entries = mongo[stack.settings.mongodb_database][_cache_collection(stack.settings)]
    for url in [url for urls in unique for url in urls] + [repeated]:
        entry = entries.find_one({"_id": entry_id(None, url)})
        assert entry is not None and entry["url"] == url and "fetching_since" not in entry
    assert image_server.requests.count("/cache/in-two-rows.jpg") == 1


def test_a_failing_url_repeated_in_a_request_gives_every_row_its_error(
    stack: RunningStack, image_server: LocalHttpServer, mongo: MongoClient[Document]
) -> None:
    # The first fetch fails slowly: the worker that waits for it must not wait on a dead claim.
    missing = image_server.add("/cache/missing.jpg", Resource(b"gone", status=404, delay_s=0.5))
    others = [
        image_server.add(f"/cache/beside-missing-{n}.jpg", Resource(_photo(40 + n), "image/jpeg"))
        for n in range(12)
    ]
    rows = [[missing] if n % 3 == 0 else [others[n]] for n in range(12)]

    status = _run(stack.base_url, rows)

    assert status["status"] == "completed_with_errors"
    failed = [image for image in _images(status) if image["input_url"] == missing]
    assert [image["error"]["code"] for image in failed] == ["http_error"] * 4
    # Each worker asks the source at most once: an error is not shared through the cache.
    assert 1 <= image_server.requests.count("/cache/missing.jpg") <= 2
    entries = mongo[stack.settings.mongodb_database][_cache_collection(stack.settings)]
    assert entries.find_one({"_id": entry_id(None, missing)}) is None  # no claim left behind


def test_a_claim_whose_worker_died_does_not_hold_the_url_up(
    stack: RunningStack, image_server: LocalHttpServer, mongo: MongoClient[Document]
) -> None:
    path = "/cache/abandoned-claim.jpg"
    url = image_server.add(path, Resource(_photo(50), "image/jpeg"))
    # As a worker killed mid-fetch leaves it, long ago (longer than any fetch with its retries).
    mongo[stack.settings.mongodb_database][_cache_collection(stack.settings)].insert_one(
        {"_id": entry_id(None, url), "fetching_since": datetime.now(UTC) - timedelta(hours=1)}
    )

    [image] = _images(_run(stack.base_url, [[url]]))

    assert image["origin"] == "fetched" and image_server.requests.count(path) == 1
    assert httpx.get(image["output_url"], timeout=30).content[:2] == b"\xff\xd8"


def test_identical_images_under_different_urls_are_compressed_and_stored_once(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    first = image_server.add("/cache/same-bytes/a.jpg", Resource(_photo(100), "image/jpeg"))
    second = image_server.add("/cache/same-bytes/b.jpg?copy=1", Resource(_photo(100), "image/jpeg"))
    before = _compressions(stack)
    [first_image] = _images(_run(stack.base_url, [[first]]))
    assert _compressions(stack) == before + 1

    [second_image] = _images(_run(stack.base_url, [[second]]))

    assert _compressions(stack) == before + 1
    assert second_image["origin"] == "fetched"
    assert second_image["output_url"] == first_image["output_url"]
    assert (second_image["bytes_out"], second_image["width"], second_image["height"]) == (
        first_image["bytes_out"],
        97,
        61,
    )
    served = httpx.get(second_image["output_url"], timeout=30)
    assert served.status_code == 200 and len(served.content) == second_image["bytes_out"]


def test_a_second_upload_revalidates_with_a_conditional_get_and_compresses_nothing(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    urls = [
        image_server.add(
            f"/cache/validated/{n}.jpg",
            Resource(_photo(200 + n), "image/jpeg", etag=f'"v1-{n}"', last_modified=LAST_MODIFIED),
        )
        for n in range(4)
    ]
    first = _images(_run(stack.base_url, [[url] for url in urls]))
    assert [image["origin"] for image in first] == ["fetched"] * 4
    compressions, revalidated = _compressions(stack), _origins(stack, "revalidated")
    full_gets = len(image_server.requests) - len(image_server.conditional_requests)

    second = _images(_run(stack.base_url, [[url] for url in urls]))

    assert [image["origin"] for image in second] == ["revalidated"] * 4
    assert [image["output_url"] for image in second] == [image["output_url"] for image in first]
    assert [image["bytes_in"] for image in second] == [image["bytes_in"] for image in first]
    assert sorted(
        path for path in image_server.conditional_requests if path.startswith("/cache/validated/")
    ) == [f"/cache/validated/{n}.jpg" for n in range(4)]
    assert len(image_server.requests) - len(image_server.conditional_requests) == full_gets
    assert _compressions(stack) == compressions
    assert _origins(stack, "revalidated") == revalidated + 4


def test_a_revalidated_url_in_other_rows_is_recorded_for_the_other_workers(
    stack: RunningStack, image_server: LocalHttpServer, mongo: MongoClient[Document]
) -> None:
    """After a 304, the entry of a URL in several rows says this request confirmed it, so a
    worker reaching it later reuses it without asking the source; the entry of a URL in one row
    only is left as it was (nobody else in the request needs it)."""
    repeated, single = (
        image_server.add(
            f"/cache/revalidated-{name}.jpg",
            Resource(_photo(seed), "image/jpeg", etag=f'"{name}"', last_modified=LAST_MODIFIED),
        )
        for name, seed in (("repeated", 1300), ("single", 1301))
    )
    rows = [[repeated, single], [repeated]]
    first = _run(stack.base_url, rows)

    second = _run(stack.base_url, rows)

    assert {image["origin"] for image in _images(second)} <= {"revalidated", "reused"}
    entries = mongo[stack.settings.mongodb_database][_cache_collection(stack.settings)]
    validated_by = {
        url: entries.find_one({"_id": entry_id(None, url)})["validated_by"] for url in (repeated, single)
    }
    assert validated_by == {repeated: second["request_id"], single: first["request_id"]}


def test_a_second_upload_of_urls_in_one_row_each_asks_the_source_not_the_database(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    """A worker remembers the entries it wrote lately: a catalogue uploaded again to the same
    workers is revalidated with its sources without reading those entries back."""
    urls = [
        image_server.add(
            f"/cache/remembered/{n}.jpg",
            Resource(_photo(1400 + n), "image/jpeg", etag=f'"r{n}"', last_modified=LAST_MODIFIED),
        )
        for n in range(10)
    ]
    _run(stack.base_url, [[url] for url in urls])
    since = log_positions(stack.paths)

    second_status = _run(stack.base_url, [[url] for url in urls])
    second = _images(second_status)

    assert [image["origin"] for image in second] == ["revalidated"] * 10
    conditional = [
        path for path in image_server.conditional_requests if path.startswith("/cache/remembered/")
    ]
    assert len(conditional) == 10
    reads = [
        command
        for command in logged_commands(stack.paths, since)
        if SOURCE_CACHE.period_of(str(command["collection"]))
        and command["command"] == "find"
        and command["request_id"] == second_status["request_id"]
    ]
    # Without the workers' memory every URL's entry is read (10 reads); a row whose partition
    # moved to the other worker meanwhile may still read its own.
    assert len(reads) <= 5, reads


async def test_a_remembered_entry_expires_with_the_ttl_as_a_stored_one_does(stack: RunningStack) -> None:
    client = connect(stack.settings.database)
    try:
        cache = SourceCache(database(client, stack.settings.database), ttl_s=0.5)
        entry = SourceEntry(
            etag='"x"',
            last_modified=None,
            source_sha256="0" * 64,
            bytes_in=1,
            width=1,
            height=1,
            no_cache=False,
            fetched_at=datetime.now(UTC),
            validated_by="a-request",
        )
        url = "http://images.example.com/remembered-then-expired.jpg"
        await cache.remember_new(None, [(url, entry)])
        assert await cache.lookup(None, url, recent_will_do=True) == entry

        await asyncio.sleep(0.6)

        assert await cache.lookup(None, url, recent_will_do=True) is None
        assert await cache.lookup(None, url) is None
    finally:
        await client.close()


def test_a_changed_etag_gets_the_new_image(stack: RunningStack, image_server: LocalHttpServer) -> None:
    path = "/cache/changing.jpg"
    url = image_server.add(path, Resource(_photo(300), "image/jpeg", etag='"old"'))
    [before] = _images(_run(stack.base_url, [[url]]))
    new_bytes = photo_like_image(83, 59, seed=9_301)
    image_server.add(path, Resource(new_bytes, "image/jpeg", etag='"new"'))

    [after] = _images(_run(stack.base_url, [[url]]))

    assert path in image_server.conditional_requests
    assert after["origin"] == "fetched"
    assert after["output_url"] != before["output_url"]
    assert (after["bytes_in"], after["width"], after["height"]) == (len(new_bytes), 83, 59)


def test_a_source_answering_200_to_a_conditional_get_gives_the_same_output_uncompressed(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    path = "/cache/always-200.jpg"
    url = image_server.add(
        path, Resource(_photo(400), "image/jpeg", etag='"same"', ignores_conditionals=True)
    )
    [before] = _images(_run(stack.base_url, [[url]]))
    compressions = _compressions(stack)

    [after] = _images(_run(stack.base_url, [[url]]))

    assert path in image_server.conditional_requests
    assert after["origin"] == "fetched" and after["output_url"] == before["output_url"]
    assert _compressions(stack) == compressions


def test_a_stored_output_gone_missing_is_fetched_and_stored_again(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    path = "/cache/deleted-output.jpg"
    url = image_server.add(path, Resource(_photo(500), "image/jpeg", etag='"kept"'))
    [before] = _images(_run(stack.base_url, [[url]]))
    run_sync(
        open_storage(stack.settings.storage, stack.settings.base_url).delete(stored_key(before["output_url"]))
    )
    assert httpx.get(before["output_url"], timeout=30).status_code == 404

    [after] = _images(_run(stack.base_url, [[url]]))

    # Not asked "has it changed?": a 304 could not bring the missing output back.
    assert image_server.requests.count(path) == 2 and path not in image_server.conditional_requests
    assert after["origin"] == "fetched" and after["output_url"] == before["output_url"]
    assert httpx.get(after["output_url"], timeout=30).content[:2] == b"\xff\xd8"


def test_a_304_to_a_request_that_was_not_conditional_is_a_clear_error(
    stack: RunningStack, image_server: LocalHttpServer
) -> None:
    url = image_server.add("/cache/bogus-304.jpg", Resource(b"", status=304, content_length=None))
    good = image_server.add("/cache/beside-bogus.jpg", Resource(_photo(600), "image/jpeg"))

    status = _run(stack.base_url, [[url, good]])

    assert status["status"] == "completed_with_errors"
    bogus, fine = _images(status)
    assert bogus["output_url"] is None
    assert bogus["error"] == {
        "code": "http_error",
        "message": "HTTP 304 from the server to a request that was not conditional",
    }
    assert fine["origin"] == "fetched"


def test_no_store_is_never_revalidated(stack: RunningStack, image_server: LocalHttpServer) -> None:
    path = "/cache/no-store.jpg"
    url = image_server.add(
        path,
        Resource(_photo(700), "image/jpeg", etag='"ns"', headers=(("Cache-Control", "private, no-store"),)),
    )
    _run(stack.base_url, [[url]])
    compressions = _compressions(stack)

    [again] = _images(_run(stack.base_url, [[url]]))

    assert image_server.requests.count(path) == 2 and path not in image_server.conditional_requests
    assert again["origin"] == "fetched"
    assert _compressions(stack) == compressions  # the output itself is ours: stored once


def test_an_expired_entry_is_fetched_in_full(
    stack: RunningStack, image_server: LocalHttpServer, mongo: MongoClient[Document]
) -> None:
    path = "/cache/expiring.jpg"
    image = _photo(800)
    url = image_server.add(path, Resource(image, "image/jpeg", etag='"e"'))
    # What a run a week and a day ago left behind (IMGPIPE_SOURCE_CACHE_TTL: 7 days): its output
    # and the URL's entry. Planted rather than uploaded: an upload now would leave the entry in
    # a worker's memory too, where it would still be fresh.
    settings = stack.settings
    digest = source_digest(image)
    name = content_name(None, digest, settings.jpeg_quality, settings.jpeg_progressive)
    output = compress_jpeg(image, settings.jpeg_quality, settings.max_image_pixels, settings.jpeg_progressive)
    period = OutputPeriod.at(DEFAULT_RETENTION_S, datetime.now(UTC))
    run_sync(
        open_storage(settings.storage, settings.base_url).put(
            period.image_key(name), output.data, "image/jpeg"
        )
    )
    entries = mongo[settings.mongodb_database][_cache_collection(settings)]
    entries.insert_one(
        {
            "_id": entry_id(None, url),
            "url": url,
            "etag": '"e"',
            "last_modified": None,
            "source_sha256": digest,
            "bytes_in": len(image),
            "width": output.width,
            "height": output.height,
            "no_cache": False,
            "fetched_at": datetime.now(UTC) - timedelta(days=8),
            "validated_by": "a-request-of-last-week",
        }
    )

    [again] = _images(_run(stack.base_url, [[url]]))

    assert image_server.requests.count(path) == 1 and path not in image_server.conditional_requests
    assert again["origin"] == "fetched"
    # The new entry took the expired one's place (an insert found it there, so it was replaced).
    refreshed = entries.find_one({"_id": entry_id(None, url)})
    assert refreshed is not None
    assert datetime.now(UTC) - refreshed["fetched_at"].replace(tzinfo=UTC) < timedelta(minutes=10)


def test_outputs_and_the_cache_are_per_owner(
    stack: RunningStack, keyed_gateway: str, image_server: LocalHttpServer
) -> None:
    path = "/cache/owners.jpg"
    url = image_server.add(path, Resource(_photo(900), "image/jpeg", etag='"o"'))
    alice, bob = ({"Authorization": f"Bearer {key}"} for key in API_KEYS)

    [alices] = _images(_run(keyed_gateway, [[url]], alice))
    [bobs] = _images(_run(keyed_gateway, [[url]], bob))

    # Bob's fetch knows nothing of Alice's: a full GET, another output name.
    assert image_server.requests.count(path) == 2 and path not in image_server.conditional_requests
    assert bobs["origin"] == "fetched" and bobs["output_url"] != alices["output_url"]
    [alices_again] = _images(_run(keyed_gateway, [[url]], alice))
    assert alices_again["origin"] == "revalidated" and alices_again["output_url"] == alices["output_url"]


@pytest.fixture(scope="module")
def uncached_stack(image_server: LocalHttpServer) -> Iterator[RunningStack]:
    """A stack of its own with IMGPIPE_SOURCE_CACHE=off."""
    with running_test_stack(
        processor_count=1,
        fetch_allowlist=f"127.0.0.1:{image_server.port}",
        state_dir=ROOT / ".local" / "uncached-stack",
        overrides={"IMGPIPE_SOURCE_CACHE": "off"},
    ) as uncached:
        yield uncached


def test_with_the_source_cache_off_every_upload_fetches_in_full_yet_compresses_once(
    uncached_stack: RunningStack, image_server: LocalHttpServer
) -> None:
    path = "/cache/uncached.jpg"
    url = image_server.add(
        path, Resource(_photo(1000), "image/jpeg", etag='"u"', last_modified=LAST_MODIFIED)
    )
    [first] = _images(_run(uncached_stack.base_url, [[url]]))
    [second] = _images(_run(uncached_stack.base_url, [[url]]))

    # Never a conditional GET: nothing remembers the validators.
    assert image_server.requests.count(path) == 2 and path not in image_server.conditional_requests
    assert first["origin"] == second["origin"] == "fetched"
    # The outputs are still content-addressed: the same bytes are compressed and stored once.
    assert second["output_url"] == first["output_url"]
    assert _compressions(uncached_stack) == 1
    with MongoClient(uncached_stack.settings.mongodb_url, tz_aware=True) as client:
        db = client[uncached_stack.settings.mongodb_database]
        assert not [name for name in db.list_collection_names() if SOURCE_CACHE.period_of(name)]
