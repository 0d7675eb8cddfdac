"""Storage for the unit tests of the storage interface: every backend, the S3 one on a real
SeaweedFS started by devstack (no mocks), on ports of its own."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import processes
from devstack.paths import ROOT, StackPaths
from devstack.ports import port_in_use
from devstack.seaweedfs import start_seaweedfs
from imgpipe.settings import Settings
from imgpipe.storage.base import ObjectStorage
from imgpipe.storage.factory import open_storage
from imgpipe.storage.file import FileStorage

UNIT_S3_STATE = ROOT / ".local" / "unit-s3"
# SeaweedFS takes a port and the seven after it: the first such block free, below the ephemeral
# range (another checkout's unit tests may hold the first one).
UNIT_S3_PORTS = range(17333, 17533, 10)
UNIT_BUCKET = "imgpipe-unit"
GATEWAY = "http://gateway.test"


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[Settings]:
    """Settings that reach the session's SeaweedFS (started fresh, stopped at the end)."""
    paths = StackPaths(UNIT_S3_STATE)
    processes.stop(paths, "seaweedfs")  # whatever an interrupted run left behind
    shutil.rmtree(UNIT_S3_STATE, ignore_errors=True)
    port = next(port for port in UNIT_S3_PORTS if not any(port_in_use(port + n) for n in range(8)))
    settings = Settings(storage_url=f"s3://{UNIT_BUCKET}", local_s3_port=port, public_base_url=GATEWAY)
    start_seaweedfs(paths, port, UNIT_BUCKET)
    yield settings
    processes.stop(paths, "seaweedfs")


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
