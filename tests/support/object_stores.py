"""Stores for the tests of the storage interface: a prefix of its own on the session's SeaweedFS
(tests/integration/conftest.py starts it), and what the stores are named."""

from __future__ import annotations

import uuid

from imgpipe.config.settings import Settings
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.factory import open_storage

STORE_TESTS_BUCKET = "imgpipe-store-tests"
GATEWAY = "http://gateway.test"


def s3_storage(settings: Settings, **changes: object) -> ObjectStorage:
    """A store under a prefix of its own, so that tests never see each other's objects."""
    url = f"s3://{STORE_TESTS_BUCKET}/{uuid.uuid4().hex}"
    changed = settings.model_copy(update={"storage_url": url, **changes})
    return open_storage(changed.storage, changed.base_url)
