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


# FerretDB 1.24's SQLite backend pushes a `{_id: <string or ObjectId>}` filter down to SQL as
# `_ferretdb_sjson->'$._id' = ?`, but creates the collection's unique `_id` index on the
# expression `_ferretdb_sjson->"_id"`. SQLite uses an index on an expression only for that same
# expression, so every find, update and delete by `_id` scanned the whole table (EXPLAIN: SCAN;
# 6 s for a missing `_id` among 1,000,000 documents). Writing the pushed-down column as the
# index's own expression makes the same statements use the index (EXPLAIN: SEARCH … USING INDEX;
# 0.6 ms). Both select the same JSON value, so no result changes.
_ID_COLUMN_AS_SHIPPED = "IDColumn = DefaultColumn + \"->'$._id'\""
_ID_COLUMN_AS_INDEXED = 'IDColumn = DefaultColumn + `->"_id"`'
_METADATA_GO = Path("internal/backends/sqlite/metadata/metadata.go")


def _use_the_id_index(source: Path) -> None:
    metadata = source / _METADATA_GO
    text = metadata.read_text()
    if _ID_COLUMN_AS_SHIPPED not in text:
        raise SystemExit(f"FerretDB {FERRETDB_VERSION}: {_METADATA_GO} is not as expected; cannot patch it")
    metadata.write_text(text.replace(_ID_COLUMN_AS_SHIPPED, _ID_COLUMN_AS_INDEXED))


def ensure_ferretdb() -> None:
    """Build FerretDB once with `go install`, with the `_id` index fix above.

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
        _use_the_id_index(source)
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
        # FerretDB keeps SQLite in WAL mode; with synchronous=NORMAL a commit is written but not
        # fsynced (the log is, at each checkpoint). A killed process loses nothing; a power cut
        # may lose the last commits, as it may the broker's unflushed log. Measured: an insert
        # costs FerretDB 0.21-0.28 ms of CPU instead of 0.35-0.41, and less than half the wait.
        f"--sqlite-url=file:{paths.mongodb_data}/?_pragma=synchronous(normal)",
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
    processes.start(paths, "mongodb", _server_argv(paths, port), processes.go_server_environment())
    url = f"mongodb://127.0.0.1:{port}/"
    wait_until(lambda: _answers(url), 60, f"MongoDB on {url}")
