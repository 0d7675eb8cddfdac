"""devstack's own settings: which local servers a stack gets, and how its services find them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devstack.settings import LocalPorts, LocalS3, LocalServers, location_variables, point_at_local_servers
from imgpipe.config.settings import Settings

pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture
def restored_environment() -> Iterator[None]:
    """os.environ as it was, after a test of what adds to it."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_nothing_set_provisions_every_server_on_the_usual_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_STORAGE_URL", "s3://imgpipe/team-a")

    servers = LocalServers.for_settings(Settings(), LocalPorts())

    assert servers == LocalServers(kafka_port=9092, mongodb_port=27017, s3=LocalS3(8333, "imgpipe"))


def test_the_local_ports_come_from_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_LOCAL_KAFKA_PORT", "19092")
    monkeypatch.setenv("IMGPIPE_LOCAL_MONGODB_PORT", "37017")
    monkeypatch.setenv("IMGPIPE_LOCAL_S3_PORT", "18333")

    assert LocalPorts() == LocalPorts(kafka_port=19092, mongodb_port=37017, s3_port=18333)


def test_a_server_the_settings_name_is_not_provisioned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even one named at the default address: someone else runs it.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("IMGPIPE_MONGODB_URL", "mongodb://db.internal:27017/")
    monkeypatch.setenv("IMGPIPE_STORAGE_URL", "s3://imgpipe")
    monkeypatch.setenv("IMGPIPE_S3_ENDPOINT", "https://s3.eu-west-1.amazonaws.com")

    servers = LocalServers.for_settings(Settings(), LocalPorts())

    assert servers == LocalServers(kafka_port=None, mongodb_port=None, s3=None)
    assert servers.service_environment() == {}


def test_file_storage_needs_no_s3_server() -> None:
    assert LocalServers.for_settings(Settings(), LocalPorts()).s3 is None


def test_the_services_are_pointed_at_the_local_servers_with_seaweedfs_own_key(
    monkeypatch: pytest.MonkeyPatch, restored_environment: None
) -> None:
    monkeypatch.setenv("IMGPIPE_STORAGE_URL", "s3://imgpipe")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-FROM-THE-SHELL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "shell-secret")

    settings, servers = point_at_local_servers(
        LocalPorts(kafka_port=19092, mongodb_port=37017, s3_port=18333)
    )

    assert servers.service_environment() == {
        "IMGPIPE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
        "IMGPIPE_MONGODB_URL": "mongodb://127.0.0.1:37017/",
        "IMGPIPE_S3_ENDPOINT": "http://127.0.0.1:18333",
        "IMGPIPE_S3_ACCESS_KEY_ID": "imgpipe-local",
        "IMGPIPE_S3_SECRET_ACCESS_KEY": "imgpipe-local-secret",
    }
    # What the services started from here read, and what this process reads:
    assert os.environ["IMGPIPE_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert settings.mongodb_url == "mongodb://127.0.0.1:37017/"
    assert settings.s3_endpoint == "http://127.0.0.1:18333"
    assert (settings.s3_access_key_id, settings.s3_secret_access_key) == (
        "imgpipe-local",
        "imgpipe-local-secret",
    )


def test_a_throwaway_stack_forgets_every_variable_that_names_a_server() -> None:
    assert sorted(location_variables()) == [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "IMGPIPE_KAFKA_BOOTSTRAP_SERVERS",
        "IMGPIPE_MONGODB_URL",
        "IMGPIPE_S3_ACCESS_KEY_ID",
        "IMGPIPE_S3_ENDPOINT",
        "IMGPIPE_S3_SECRET_ACCESS_KEY",
        "KAFKA_BOOTSTRAP_SERVERS",
        "MONGODB_URL",
    ]
