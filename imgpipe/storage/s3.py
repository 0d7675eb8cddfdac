"""The `s3` backend: objects in a bucket of any S3-compatible store, through obstore.

obstore (Rust's object_store behind an asyncio API) streams reads, uploads local files and
streams of chunks as multipart uploads, and puts atomically: an object appears whole when its
upload completes, never in part. Requests use path-style addressing unless told otherwise, which
every S3-compatible server understands.

obstore retries a failed request only briefly here: an outage longer than that is reported as
StorageUnavailable, and the caller waits it out the way it waits out the broker or the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

import obstore
from obstore.exceptions import PermissionDeniedError, UnauthenticatedError
from obstore.store import S3Store

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

from imgpipe.storage.base import (
    ObjectInfo,
    ObjectNotFound,
    ObjectStorage,
    PutSource,
    StorageMisconfigured,
    StorageUnavailable,
)

READ_CHUNK_BYTES = 256 * 1024
# S3 DeleteObjects takes at most 1,000 keys.
DELETE_BATCH = 1000
# Kept short so that an outage shows in the services' logs and readiness within seconds.
_RETRIES: RetryConfig = {"max_retries": 2, "retry_timeout": timedelta(seconds=5)}
# A listing refused reports its 403 as a generic error: these say it was the credentials.
_REFUSED_SIGNS = (
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AccessDenied",
    "status: 403",
    "status code: 403",
)
# What a store that is down or restarting answers with: no connection, or a 5xx status.
_UNAVAILABLE_SIGNS = ("error sending request", "connection", "timed out", "status code: 5")


@dataclass(frozen=True)
class S3Connection:
    endpoint: str | None  # None: AWS itself
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    path_style: bool


class S3Storage(ObjectStorage):
    def __init__(
        self,
        bucket: str,
        prefix: str,
        connection: S3Connection,
        gateway_base_url: str,
        public_base_url: str | None = None,
    ) -> None:
        super().__init__(gateway_base_url, public_base_url)
        self.bucket = bucket
        self._prefix = prefix.strip("/")
        config: S3Config = {
            "region": connection.region,
            "virtual_hosted_style_request": not connection.path_style,
        }
        if connection.endpoint:
            config["endpoint"] = connection.endpoint
        if connection.access_key_id and connection.secret_access_key:
            config["access_key_id"] = connection.access_key_id
            config["secret_access_key"] = connection.secret_access_key
        client: ClientConfig = {
            "allow_http": True,
            "connect_timeout": timedelta(seconds=2),
            "timeout": timedelta(seconds=60),
        }
        self._store = S3Store(
            bucket, prefix=self._prefix or None, config=config, client_options=client, retry_config=_RETRIES
        )

    async def put(self, key: str, source: PutSource, content_type: str) -> None:
        try:
            await obstore.put_async(self._store, key, source, attributes={"Content-Type": content_type})
        except Exception as error:
            self._raise(error, key)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        try:
            options = {} if start == 0 and end is None else {"range": _byte_range(start, end)}
            result = await obstore.get_async(self._store, key, options=options)  # type: ignore[arg-type]
            async for chunk in result.stream(min_chunk_size=READ_CHUNK_BYTES):
                yield bytes(chunk)
        except Exception as error:
            self._raise(error, key)

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            meta = await obstore.head_async(self._store, key)
        except FileNotFoundError:
            return None
        except Exception as error:
            self._raise(error, key)
        return ObjectInfo(size=meta["size"], etag=meta["e_tag"] or '""', last_modified=meta["last_modified"])

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, key)
        except FileNotFoundError:
            return
        except Exception as error:
            self._raise(error, key)

    async def copy(self, source: str, target: str) -> bool:
        try:
            await obstore.copy_async(self._store, source, target)
        except FileNotFoundError:
            return False
        except Exception as error:
            self._raise(error, source)
        return True

    async def child_prefixes(self, prefix: str) -> list[str]:
        try:
            listing = await obstore.list_with_delimiter_async(self._store, f"{prefix}/")
            # SeaweedFS still lists a folder whose objects were all deleted.
            children = [child.rstrip("/") for child in listing["common_prefixes"]]
            return sorted([child for child in children if await self.holds_objects(child)])
        except Exception as error:
            self._raise(error, prefix)

    async def holds_objects(self, prefix: str) -> bool:
        try:
            async for page in obstore.list(self._store, f"{prefix}/", chunk_size=1):
                if page:
                    return True
        except Exception as error:
            self._raise(error, prefix)
        return False

    async def delete_prefix(self, prefix: str) -> int:
        removed = 0
        try:
            # A listing page at a time, deleted in one DeleteObjects request per page.
            async for page in obstore.list(self._store, f"{prefix}/", chunk_size=DELETE_BATCH):
                await obstore.delete_async(self._store, [meta["path"] for meta in page])
                removed += len(page)
        except Exception as error:
            self._raise(error, prefix)
        return removed

    async def check(self) -> None:
        # A listing names a missing bucket (NoSuchBucket), where a read of a missing object
        # would not tell the two apart; and it needs valid credentials.
        try:
            await obstore.list_with_delimiter_async(self._store, "imgpipe-check")
        except Exception as error:
            self._raise(error, "")

    def object_name(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def _raise(self, error: Exception, key: str) -> NoReturn:
        """obstore's error as one of the interface's: what the caller can act on."""
        if isinstance(error, FileNotFoundError):
            raise ObjectNotFound(key) from None
        text = str(error)
        if isinstance(error, PermissionDeniedError | UnauthenticatedError) or any(
            sign in text for sign in _REFUSED_SIGNS
        ):
            raise StorageMisconfigured(
                f"S3 refused the credentials for bucket {self.bucket!r} (check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY)"
            ) from None
        if "NoSuchBucket" in text:
            raise StorageMisconfigured(f"S3 bucket {self.bucket!r} does not exist") from None
        if any(sign in text.lower() for sign in _UNAVAILABLE_SIGNS):
            raise StorageUnavailable(f"S3 is unavailable: {text.splitlines()[0]}") from None
        raise error


def _byte_range(start: int, end: int | None) -> dict[str, int] | tuple[int, int]:
    return {"offset": start} if end is None else (start, end)
