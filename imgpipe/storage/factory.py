"""The storage backend the settings name: building one opens no connection."""

from __future__ import annotations

from imgpipe.config.settings import StorageSettings
from imgpipe.config.storage_location import FileLocation, parse_storage_url
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.file import FileStorage
from imgpipe.storage.s3 import S3Connection, S3Storage


def open_storage(settings: StorageSettings, base_url: str) -> ObjectStorage:
    """The backend `settings` name; objects it serves itself are at `base_url`/processed_images/…."""
    location = parse_storage_url(settings.storage_url)
    if isinstance(location, FileLocation):
        return FileStorage(location.root, base_url, settings.public_image_base_url)
    connection = S3Connection(
        endpoint=settings.s3_endpoint,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        path_style=settings.s3_path_style,
    )
    return S3Storage(location.bucket, location.prefix, connection, base_url, settings.public_image_base_url)
