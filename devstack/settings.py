"""devstack's own settings: the ports of the servers it provisions for a local stack, and which of
those servers a stack gets.

The product's settings (imgpipe/config/settings.py) only say where a service connects. devstack
provisions each server the environment does not point elsewhere, and points the services at it
by setting the product's own variables (IMGPIPE_KAFKA_BOOTSTRAP_SERVERS, …) in their environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pydantic import AliasChoices, Field
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from imgpipe.config.settings import Settings
from imgpipe.config.storage_location import S3Location, parse_storage_url

# The local SeaweedFS's one identity (devstack/seaweedfs.py): it listens on loopback only, and a
# key it knows keeps wrong credentials elsewhere from going unnoticed.
LOCAL_S3_ACCESS_KEY_ID = "imgpipe-local"
LOCAL_S3_SECRET_ACCESS_KEY = "imgpipe-local-secret"


# The product settings that say where a server is: devstack sets them for the servers it provisions.
LOCATION_FIELDS = (
    "kafka_bootstrap_servers",
    "mongodb_url",
    "s3_endpoint",
    "s3_access_key_id",
    "s3_secret_access_key",
)


def variable_names(settings_class: type[BaseSettings], name: str, field: FieldInfo) -> list[str]:
    """The environment variables a field is read from: its alias choices, or prefix + name."""
    if isinstance(field.validation_alias, AliasChoices):
        return [choice for choice in field.validation_alias.choices if isinstance(choice, str)]
    prefix = settings_class.model_config.get("env_prefix", "")
    return [f"{prefix}{name}".upper()]


def location_variables() -> list[str]:
    """Every environment variable the product reads a server's location or S3 key from."""
    fields = Settings.model_fields
    return [variable for name in LOCATION_FIELDS for variable in variable_names(Settings, name, fields[name])]


class LocalPorts(BaseSettings):
    """Each field's description is its row in docs/development.md (`python -m devstack.settings_doc`)."""

    model_config = SettingsConfigDict(env_prefix="IMGPIPE_LOCAL_", extra="ignore")

    kafka_port: int = Field(
        default=9092, description="the local broker's port (its KRaft controller uses the next port)"
    )
    mongodb_port: int = Field(default=27017, description="the local database's port")
    s3_port: int = Field(
        default=8333,
        description="the local SeaweedFS's S3 port, used when the storage is `s3://` with no "
        "`IMGPIPE_S3_ENDPOINT`; its master, volume server and filer take the seven ports after it",
    )


@dataclass(frozen=True)
class LocalS3:
    """The local SeaweedFS, and the bucket it creates on start."""

    port: int
    bucket: str

    def service_environment(self) -> dict[str, str]:
        """The product's variables that point a service at it, with its own key whatever AWS_*
        the shell may hold."""
        return {
            "IMGPIPE_S3_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "IMGPIPE_S3_ACCESS_KEY_ID": LOCAL_S3_ACCESS_KEY_ID,
            "IMGPIPE_S3_SECRET_ACCESS_KEY": LOCAL_S3_SECRET_ACCESS_KEY,
        }


@dataclass(frozen=True)
class LocalServers:
    """The servers devstack provisions for one stack; None: the settings point elsewhere."""

    kafka_port: int | None
    mongodb_port: int | None
    s3: LocalS3 | None

    @classmethod
    def for_settings(cls, settings: Settings, ports: LocalPorts) -> LocalServers:
        """A server for each location the settings were not given (their defaults are not a choice)."""
        given = settings.model_fields_set
        location = parse_storage_url(settings.storage_url)
        # `s3://` with no endpoint: the local SeaweedFS (issue #12).
        bucket = (
            location.bucket if isinstance(location, S3Location) and settings.s3_endpoint is None else None
        )
        return cls(
            kafka_port=None if "kafka_bootstrap_servers" in given else ports.kafka_port,
            mongodb_port=None if "mongodb_url" in given else ports.mongodb_port,
            s3=None if bucket is None else LocalS3(ports.s3_port, bucket),
        )

    def service_environment(self) -> dict[str, str]:
        """The product's variables that point a service at these servers."""
        environment: dict[str, str] = {}
        if self.kafka_port is not None:
            environment["IMGPIPE_KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{self.kafka_port}"
        if self.mongodb_port is not None:
            environment["IMGPIPE_MONGODB_URL"] = f"mongodb://127.0.0.1:{self.mongodb_port}/"
        if self.s3 is not None:
            environment.update(self.s3.service_environment())
        return environment


def point_at_local_servers(ports: LocalPorts) -> tuple[Settings, LocalServers]:
    """The servers to provision for the settings in os.environ, and those settings pointed at them.

    Their variables are added to os.environ, so that the services started from this process, and
    `Settings()` anywhere in it, describe the same stack."""
    servers = LocalServers.for_settings(Settings(), ports)
    os.environ.update(servers.service_environment())
    return Settings(), servers
