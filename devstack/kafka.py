"""Apache Kafka for the local stack: jars from Maven Central via infra/pom.xml, KRaft, one node."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import uuid

from aiokafka.admin import AIOKafkaAdminClient

from devstack import processes
from devstack.paths import INFRA, KAFKA_LIBS, StackPaths
from devstack.ports import require_free
from devstack.sync_run import run_sync
from devstack.waiting import wait_until

POM = INFRA / "pom.xml"
SERVER_PROPERTIES = INFRA / "kafka" / "server.properties"
LOG4J_CONFIG = INFRA / "kafka" / "log4j2.yaml"
_RESOLVED_MARKER = KAFKA_LIBS / ".pom-sha256"


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def ensure_kafka_jars() -> None:
    """Resolve the broker's jars once; again only when the pom changes."""
    if _RESOLVED_MARKER.exists() and _RESOLVED_MARKER.read_text() == _pom_digest():
        return
    if shutil.which("mvn") is None:
        raise SystemExit("Maven (mvn) is needed to fetch Kafka: apt-get install maven")
    print("resolving Apache Kafka from Maven Central (first run only)...", flush=True)
    shutil.rmtree(KAFKA_LIBS, ignore_errors=True)
    subprocess.run(
        [
            "mvn", "--batch-mode", "--quiet", "-f", str(POM),
            "dependency:copy-dependencies", "-DincludeScope=runtime",
            f"-DoutputDirectory={KAFKA_LIBS}",
        ],
        check=True,
    )  # fmt: skip
    _RESOLVED_MARKER.write_text(_pom_digest())


def _java(main_class: str, *args: str, jvm_options: tuple[str, ...] = ()) -> list[str]:
    return [
        "java",
        *jvm_options,
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        f"{KAFKA_LIBS}/*",
        main_class,
        *args,
    ]


def _format_storage(paths: StackPaths, port: int) -> None:
    """Write the broker config and format its log directory (KRaft needs a cluster id first)."""
    paths.kafka_config.parent.mkdir(parents=True, exist_ok=True)
    paths.kafka_config.write_text(
        SERVER_PROPERTIES.read_text()
        .replace("{port}", str(port))
        .replace("{controller_port}", str(port + 1))
        .replace("{log_dir}", str(paths.kafka_data))
    )
    if (paths.kafka_data / "meta.properties").exists():
        return
    cluster_id = uuid.uuid4().hex[:22]
    subprocess.run(
        _java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(paths.kafka_config)),
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def _broker_answers(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()


def start_kafka(paths: StackPaths, port: int) -> None:
    ensure_kafka_jars()
    if processes.running_pid(paths, "kafka") is None:
        require_free(port, "Kafka")
        require_free(port + 1, "the Kafka controller")
        _format_storage(paths, port)
        broker = _java("kafka.Kafka", str(paths.kafka_config), jvm_options=("-Xms256m", "-Xmx1g"))
        processes.start(paths, "kafka", broker)
    bootstrap = f"127.0.0.1:{port}"
    # While the broker starts, aiokafka logs every refused connection; the wait reports failure itself.
    aiokafka_logger = logging.getLogger("aiokafka")
    level = aiokafka_logger.level
    aiokafka_logger.setLevel(logging.CRITICAL)
    try:
        wait_until(lambda: run_sync(_broker_answers(bootstrap)), 90, f"Kafka on {bootstrap}")
    finally:
        aiokafka_logger.setLevel(level)
