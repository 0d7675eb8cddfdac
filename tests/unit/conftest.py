"""Storage for the unit tests of the storage interface: every backend, the S3 one on a real
SeaweedFS started by devstack (no mocks), on free ports, with its state in the session's own
temporary directory (so that checkouts running their unit tests at once never share one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import processes
from devstack.paths import StackPaths
from devstack.ports import free_port_block
from devstack.seaweedfs import start_seaweedfs
from devstack.settings import LOCAL_S3_ACCESS_KEY_ID, LOCAL_S3_SECRET_ACCESS_KEY, LocalS3
from imgpipe.config.settings import Settings
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.factory import open_storage
from imgpipe.storage.file import FileStorage

# SeaweedFS's S3 port and the seven after it, for its other parts.
SEAWEEDFS_PORTS = 8
UNIT_BUCKET = "imgpipe-unit"
GATEWAY = "http://gateway.test"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the environment the tests run in."""
    for name in list(os.environ):
        if name.upper().startswith(("IMGPIPE_", "AWS_")) or name.upper() in (
            "KAFKA_BOOTSTRAP_SERVERS",
            "MONGODB_URL",
        ):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings that reach the session's SeaweedFS (started fresh, stopped at the end)."""
    paths = StackPaths(tmp_path_factory.mktemp("unit-s3"))
    seaweedfs = LocalS3(free_port_block(SEAWEEDFS_PORTS), UNIT_BUCKET)
    start_seaweedfs(paths, seaweedfs)
    yield Settings(storage_url=f"s3://{UNIT_BUCKET}", public_base_url=GATEWAY).model_copy(
        update={
            "s3_endpoint": f"http://127.0.0.1:{seaweedfs.port}",
            "s3_access_key_id": LOCAL_S3_ACCESS_KEY_ID,
            "s3_secret_access_key": LOCAL_S3_SECRET_ACCESS_KEY,
        }
    )
    # Its data is thrown away: no need to wait the 20 s `weed server` takes to stop on SIGTERM.
    processes.stop(paths, "seaweedfs", timeout_s=1)


def s3_storage(settings: Settings, **changes: object) -> ObjectStorage:
    """A store under a prefix of its own, so that tests never see each other's objects."""
    url = f"s3://{UNIT_BUCKET}/{uuid.uuid4().hex}"
    return open_storage(settings.model_copy(update={"storage_url": url, **changes}))


@pytest.fixture(params=["file", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    """Each backend in turn: a test using this runs once on files and once on SeaweedFS."""
    if request.param == "file":
        return FileStorage(tmp_path / "store", GATEWAY)
    return s3_storage(request.getfixturevalue("seaweedfs"))
