"""A MongoDB wire-protocol server for the local stack.

In order of preference: `MONGODB_URL` (nothing to start), a `mongod` on PATH, or FerretDB v1.24.2
with its SQLite handler, built from source with the Go toolchain into .local/bin.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from devstack import processes
from devstack.paths import FERRETDB_BIN, StackPaths
from devstack.ports import require_free
from devstack.waiting import wait_until

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"


def _make_writable(path: Path) -> None:
    for directory, _, files in os.walk(path):
        os.chmod(directory, 0o755)
        for name in files:
            file = Path(directory, name)
            file.chmod(file.stat().st_mode | stat.S_IWUSR)


def ensure_ferretdb() -> None:
    """Build FerretDB once with `go install`.

    `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds a binary that panics
    at start, because the module does not ship build/version/version.txt (FerretDB issue #2982).
    So the exact module version is downloaded, the version file written as FerretDB's own
    instructions say, and `go install ./cmd/ferretdb` run inside it.
    """
    if FERRETDB_BIN.exists():
        return
    if shutil.which("go") is None:
        raise SystemExit("Go is needed to build FerretDB (or set MONGODB_URL): apt-get install golang")
    print(f"building FerretDB {FERRETDB_VERSION} with go install (first run only)...", flush=True)
    download = subprocess.run(
        ["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
        check=True,
        capture_output=True,
        text=True,
    )
    module_dir = Path(json.loads(download.stdout)["Dir"])
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "ferretdb"
        shutil.copytree(module_dir, source)
        _make_writable(source)
        (source / "build" / "version" / "version.txt").write_text(f"{FERRETDB_VERSION}\n")
        subprocess.run(
            ["go", "install", "./cmd/ferretdb"],
            cwd=source,
            check=True,
            env={**os.environ, "GOBIN": str(FERRETDB_BIN.parent), "GOFLAGS": "-mod=mod"},
        )


def _server_argv(paths: StackPaths, port: int) -> list[str]:
    paths.mongodb_data.mkdir(parents=True, exist_ok=True)
    mongod = shutil.which("mongod")
    if mongod is not None:
        return [
            mongod,
            "--dbpath",
            str(paths.mongodb_data),
            "--port",
            str(port),
            "--bind_ip",
            "127.0.0.1",
        ]
    ensure_ferretdb()
    return [
        str(FERRETDB_BIN),
        "--handler=sqlite",
        f"--sqlite-url=file:{paths.mongodb_data}/",
        f"--state-dir={paths.mongodb_data}",
        f"--listen-addr=127.0.0.1:{port}",
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=warn",
    ]


def _answers(url: str) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=1000)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def start_mongodb(paths: StackPaths, port: int) -> None:
    if processes.running_pid(paths, "mongodb") is None:
        require_free(port, "the database")
    processes.start(paths, "mongodb", _server_argv(paths, port))
    url = f"mongodb://127.0.0.1:{port}/"
    wait_until(lambda: _answers(url), 60, f"MongoDB on {url}")
