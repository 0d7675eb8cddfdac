"""imgpipe.config.storage_location: `IMGPIPE_STORAGE_URL` read into a directory or a bucket and prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgpipe.config.storage_location import FileLocation, S3Location, parse_storage_url


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("file://processed_images", FileLocation(Path("processed_images"))),
        ("file:///srv/images", FileLocation(Path("/srv/images"))),
        ("s3://imgpipe", S3Location("imgpipe", "")),
        ("s3://imgpipe/team/a/", S3Location("imgpipe", "team/a")),
    ],
)
def test_storage_urls(url: str, location: FileLocation | S3Location) -> None:
    assert parse_storage_url(url) == location


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("gs://bucket", "unknown storage scheme 'gs'"),
        ("s3://", "names no bucket"),
        ("processed_images", "is not a storage URL"),
        ("file://", "needs a directory"),
    ],
)
def test_bad_storage_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_storage_url(url)
