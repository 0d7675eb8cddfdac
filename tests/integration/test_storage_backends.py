"""imgpipe.storage: the same behaviour from every backend, files and a real S3 server (SeaweedFS)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from devstack.seaweedfs import public_bucket_url
from devstack.settings import LocalS3
from imgpipe.config.settings import Settings
from imgpipe.storage.base import (
    ObjectNotFound,
    ObjectStorage,
    StorageMisconfigured,
    StorageUnavailable,
    read_all,
)
from imgpipe.storage.file import FileStorage
from tests.support.object_stores import GATEWAY, STORE_TESTS_BUCKET, s3_storage
from tests.support.photos import photo_like_image

# More than one 5 MiB multipart part, and not a whole number of them.
LARGE = os.urandom(12 * 1024 * 1024 + 17)


async def _chunks(data: bytes, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _failing_after(data: bytes) -> AsyncIterator[bytes]:
    yield data
    raise RuntimeError("the producer of the object failed midway")


async def test_put_bytes_then_read_stat_and_delete(storage: ObjectStorage) -> None:
    await storage.put("r1/a.jpg", b"jpeg bytes", "image/jpeg")
    assert await read_all(storage, "r1/a.jpg") == b"jpeg bytes"
    info = await storage.stat("r1/a.jpg")
    assert info is not None and info.size == 10 and info.etag.startswith('"')
    assert await storage.exists("r1/a.jpg")
    await storage.delete("r1/a.jpg")
    assert not await storage.exists("r1/a.jpg")
    assert await storage.stat("r1/a.jpg") is None


async def test_a_missing_object(storage: ObjectStorage) -> None:
    with pytest.raises(ObjectNotFound):
        await read_all(storage, "r1/missing.jpg")
    assert await storage.stat("r1/missing.jpg") is None
    await storage.delete("r1/missing.jpg")  # not an error


async def test_a_key_put_again_holds_the_last_put_whole(storage: ObjectStorage) -> None:
    """Content-addressed images: two workers may store the same name, one after the other."""
    await storage.put("images/0a1b.jpg", b"\xff\xd8image\xff\xd9", "image/jpeg")
    await storage.put("images/0a1b.jpg", b"\xff\xd8image\xff\xd9", "image/jpeg")
    assert await read_all(storage, "images/0a1b.jpg") == b"\xff\xd8image\xff\xd9"


async def test_a_stream_of_chunks_is_stored_and_read_back_in_chunks(storage: ObjectStorage) -> None:
    await storage.put("r3/output.csv", _chunks(LARGE), "text/csv")
    chunks = [chunk async for chunk in storage.read("r3/output.csv")]
    assert b"".join(chunks) == LARGE
    assert len(chunks) > 1 and max(len(chunk) for chunk in chunks) < len(LARGE)  # streamed, not whole
    info = await storage.stat("r3/output.csv")
    assert info is not None and info.size == len(LARGE)


async def test_a_local_file_is_stored(storage: ObjectStorage, tmp_path: Path) -> None:
    local = tmp_path / "input.csv"
    local.write_bytes(LARGE)
    await storage.put("r4/input.csv", local, "text/csv")
    assert await read_all(storage, "r4/input.csv") == LARGE


@pytest.mark.parametrize(
    ("start", "end"), [(0, 1), (5, 5 * 1024 * 1024 + 9), (len(LARGE) - 3, None), (7, None)]
)
async def test_a_range_reads_exactly_those_bytes(storage: ObjectStorage, start: int, end: int | None) -> None:
    await storage.put("r5/big", LARGE, "application/octet-stream")
    assert b"".join([chunk async for chunk in storage.read("r5/big", start, end)]) == LARGE[start:end]


async def test_a_failed_put_leaves_the_previous_object_whole(storage: ObjectStorage) -> None:
    await storage.put("r6/output.csv", b"the old CSV", "text/csv")
    with pytest.raises(RuntimeError, match="midway"):
        await storage.put("r6/output.csv", _failing_after(LARGE[: 6 * 1024 * 1024]), "text/csv")
    assert await read_all(storage, "r6/output.csv") == b"the old CSV"


async def test_a_failed_first_put_leaves_no_object(storage: ObjectStorage) -> None:
    with pytest.raises(RuntimeError, match="midway"):
        await storage.put("r7/output.csv", _failing_after(b"part"), "text/csv")
    assert not await storage.exists("r7/output.csv")


async def test_replacing_an_object_changes_its_etag(storage: ObjectStorage) -> None:
    await storage.put("r8/output.csv", b"first", "text/csv")
    first = await storage.stat("r8/output.csv")
    await storage.put("r8/output.csv", b"second version", "text/csv")
    second = await storage.stat("r8/output.csv")
    assert first is not None and second is not None and first.etag != second.etag
    assert await read_all(storage, "r8/output.csv") == b"second version"


async def test_a_copy_holds_the_same_bytes_and_outlives_its_source(storage: ObjectStorage) -> None:
    prefix = f"copy-{uuid.uuid4().hex}"
    await storage.put(f"{prefix}/a/one.jpg", b"jpeg bytes", "image/jpeg")
    assert await storage.copy(f"{prefix}/a/one.jpg", f"{prefix}/b/one.jpg")
    assert await storage.copy(f"{prefix}/a/one.jpg", f"{prefix}/b/one.jpg")  # already there: the same
    await storage.delete(f"{prefix}/a/one.jpg")
    assert await read_all(storage, f"{prefix}/b/one.jpg") == b"jpeg bytes"
    assert not await storage.copy(f"{prefix}/a/missing.jpg", f"{prefix}/b/missing.jpg")
    assert not await storage.exists(f"{prefix}/b/missing.jpg")


async def test_a_prefix_is_listed_one_level_down_and_deleted_whole(storage: ObjectStorage) -> None:
    prefix = f"periods-{uuid.uuid4().hex}"
    for key in ("7/1/aa/x.jpg", "7/1/bb/y.jpg", "7/2/aa/z.jpg", "9/5/cc/w.jpg"):
        await storage.put(f"{prefix}/{key}", b"bytes", "image/jpeg")
    assert await storage.child_prefixes(prefix) == [f"{prefix}/7", f"{prefix}/9"]
    assert await storage.child_prefixes(f"{prefix}/7") == [f"{prefix}/7/1", f"{prefix}/7/2"]

    assert await storage.delete_prefix(f"{prefix}/7/1") == 2
    assert await storage.child_prefixes(f"{prefix}/7") == [f"{prefix}/7/2"]  # an emptied one is not listed
    assert await storage.exists(f"{prefix}/7/2/aa/z.jpg")
    assert await storage.delete_prefix(f"{prefix}/7/1") == 0
    assert await storage.child_prefixes(f"{prefix}/missing") == []
    assert await storage.holds_objects(f"{prefix}/7") and not await storage.holds_objects(f"{prefix}/7/1")
    assert await storage.delete_prefix(prefix) == 2
    assert not await storage.holds_objects(prefix)


async def test_a_usable_store_passes_the_check(storage: ObjectStorage) -> None:
    await storage.check()


def test_public_urls_point_at_the_gateway_by_default(storage: ObjectStorage) -> None:
    assert storage.public_url("r9/0-0-x.jpg") == f"{GATEWAY}/processed_images/r9/0-0-x.jpg"


def test_a_public_base_url_names_the_object_as_the_store_does(seaweedfs: Settings, tmp_path: Path) -> None:
    s3 = s3_storage(seaweedfs, public_image_base_url="https://cdn.example.com/")
    assert s3.public_url("r9/0-0-x.jpg") == f"https://cdn.example.com/{s3.object_name('r9/0-0-x.jpg')}"
    assert s3.object_name("r9/0-0-x.jpg").endswith("/r9/0-0-x.jpg")  # the prefix included
    files = FileStorage(tmp_path, GATEWAY, "https://cdn.example.com")
    assert files.public_url("r9/0-0-x.jpg") == "https://cdn.example.com/r9/0-0-x.jpg"


async def test_an_object_is_served_at_its_public_url_straight_from_the_bucket(seaweedfs: Settings) -> None:
    """With IMGPIPE_PUBLIC_IMAGE_BASE_URL at the bucket's public endpoint (here SeaweedFS's filer,
    which serves the bucket without credentials), an output URL fetches the stored bytes
    without the gateway."""
    assert seaweedfs.s3_endpoint is not None
    bucket = LocalS3(int(seaweedfs.s3_endpoint.rsplit(":", 1)[1]), STORE_TESTS_BUCKET)
    s3 = s3_storage(seaweedfs, public_image_base_url=public_bucket_url(bucket))
    image = photo_like_image(40, 30, seed=3)
    await s3.put("images/public.jpg", image, "image/jpeg")

    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(s3.public_url("images/public.jpg"))

    assert response.status_code == 200
    assert response.content == image
    assert response.headers["content-type"] == "image/jpeg"


async def test_a_missing_bucket_is_a_misconfiguration(seaweedfs: Settings) -> None:
    missing = s3_storage(seaweedfs, storage_url="s3://no-such-bucket")
    with pytest.raises(StorageMisconfigured, match="bucket 'no-such-bucket' does not exist"):
        await missing.check()


async def test_wrong_credentials_are_a_misconfiguration(seaweedfs: Settings) -> None:
    wrong = s3_storage(seaweedfs, s3_secret_access_key="not-the-secret")
    with pytest.raises(StorageMisconfigured, match="refused the credentials"):
        await wrong.check()
    with pytest.raises(StorageMisconfigured):
        await wrong.put("r10/a.jpg", b"x", "image/jpeg")


async def test_a_server_that_does_not_answer_is_unavailable(seaweedfs: Settings) -> None:
    down = s3_storage(seaweedfs, s3_endpoint="http://127.0.0.1:9")  # port 9 (discard): nothing listens
    with pytest.raises(StorageUnavailable):
        await down.check()
    with pytest.raises(StorageUnavailable):
        await down.put("r11/a.jpg", b"x", "image/jpeg")
    assert isinstance(StorageUnavailable("x"), ConnectionError)  # waited out like a broker outage


async def test_a_directory_that_cannot_be_created_is_a_misconfiguration(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(StorageMisconfigured, match="cannot create the storage directory"):
        await FileStorage(tmp_path / "a-file" / "images", GATEWAY).check()
