"""Read `IMGPIPE_STORAGE_URL`: `file://DIRECTORY` or `s3://BUCKET[/PREFIX]`.

`file://processed_images` is relative to the working directory, `file:///srv/images` absolute.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileLocation:
    root: Path


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str


StorageLocation = FileLocation | S3Location


def parse_storage_url(url: str) -> StorageLocation:
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(f"{url!r} is not a storage URL: use file://DIRECTORY or s3://BUCKET[/PREFIX]")
    if scheme == "file":
        if not rest:
            raise ValueError("file:// needs a directory, e.g. file://processed_images")
        return FileLocation(Path(rest))
    if scheme == "s3":
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"{url!r} names no bucket: use s3://BUCKET[/PREFIX]")
        return S3Location(bucket, prefix.strip("/"))
    raise ValueError(f"unknown storage scheme {scheme!r} in {url!r}: use file:// or s3://")
