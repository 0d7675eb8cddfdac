"""Storage for the unit tests of the storage interface: every backend, the S3 one on a real
SeaweedFS started by devstack (no mocks), on free ports, with its state in the session's own
temporary directory (so that checkouts running their unit tests at once never share one)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import processes
from devstack.paths import StackPaths
from devstack.ports import free_port_block
from devstack.seaweedfs import start_seaweedfs
from imgpipe.settings import Settings
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.factory import open_storage
from imgpipe.storage.file import FileStorage

# SeaweedFS's S3 port and the seven after it, for its other parts.
SEAWEEDFS_PORTS = 8
UNIT_BUCKET = "imgpipe-unit"
GATEWAY = "http://gateway.test"


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings that reach the session's SeaweedFS (started fresh, stopped at the end)."""
    paths = StackPaths(tmp_path_factory.mktemp("unit-s3"))
    port = free_port_block(SEAWEEDFS_PORTS)
    settings = Settings(storage_url=f"s3://{UNIT_BUCKET}", local_s3_port=port, public_base_url=GATEWAY)
    start_seaweedfs(paths, port, UNIT_BUCKET)
    yield settings
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
