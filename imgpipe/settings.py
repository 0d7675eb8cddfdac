"""Every imgpipe setting, read from `IMGPIPE_*` environment variables. No setting is read elsewhere."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from imgpipe.messages import JpegQuality
from imgpipe.storage.location import parse_storage_url


@dataclass(frozen=True)
class AllowedHostPort:
    """One `host:port` allowlist entry: exactly that host name (or address) on exactly that port."""

    host: str
    port: int


AllowlistEntry = AllowedHostPort | ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowlist_entry(text: str) -> AllowlistEntry:
    """`10.0.0.0/8`, `::1/128` or `127.0.0.1` are networks; `host:port` and `[v6]:port` are pairs."""
    if "/" in text:
        return ipaddress.ip_network(text, strict=False)
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        pass
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"allowlist entry {text!r} is neither a CIDR network nor host:port")
    return AllowedHostPort(host=host.strip("[]").lower(), port=int(port))


# The local SeaweedFS's one identity (devstack/seaweedfs.py): it listens on loopback only, and a
# key it knows keeps wrong credentials elsewhere from going unnoticed.
LOCAL_S3_ACCESS_KEY_ID = "imgpipe-local"
LOCAL_S3_SECRET_ACCESS_KEY = "imgpipe-local-secret"


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMGPIPE_", extra="ignore")

    # Where the services are. Unset means "the local stack devstack provisions" (see below).
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("IMGPIPE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    mongodb_url: str | None = Field(
        default=None, validation_alias=AliasChoices("IMGPIPE_MONGODB_URL", "MONGODB_URL")
    )
    mongodb_database: str = "imgpipe"

    # The local stack (`make up`, `make test`) when the two above are unset.
    local_kafka_port: int = 9092
    local_mongodb_port: int = 27017
    state_dir: Path = Path(".local")

    # Gateway.
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None
    stall_seconds: float = 300.0
    api_keys: Annotated[tuple[str, ...], NoDecode] = Field(default=(), repr=False)

    # Upload limits (each answered with 413).
    max_upload_bytes: int = 100 * 1024 * 1024
    max_rows: int = 1_000_000
    max_urls_per_row: int = 50
    # A request's line and header fields (answered with 431).
    max_header_bytes: int = 64 * 1024

    # Storage and images.
    storage_url: str = Field(
        default="file://processed_images",
        description="where images and CSVs are stored: file://DIRECTORY or s3://BUCKET[/PREFIX]",
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="the S3 server's URL; unset: the local stack's SeaweedFS on IMGPIPE_LOCAL_S3_PORT",
    )
    s3_region: str = Field(default="us-east-1", description="the S3 region requests are signed for")
    s3_path_style: bool = Field(
        default=True, description="path-style requests (http://host/BUCKET/KEY); false: virtual-hosted style"
    )
    s3_access_key_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("IMGPIPE_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        repr=False,
        description="S3 access key; with no endpoint, the local SeaweedFS's own key is used instead",
    )
    s3_secret_access_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("IMGPIPE_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
        repr=False,
        description="S3 secret key, paired with the access key",
    )
    local_s3_port: int = Field(
        default=8333,
        description="the local SeaweedFS's S3 port; it also takes the next seven ports for its other parts",
    )
    public_image_base_url: str | None = Field(
        default=None,
        description="output image URLs are this prefix and the object's key (a CDN or the bucket's "
        "public endpoint); unset: the gateway's /processed_images/",
    )
    jpeg_quality: JpegQuality = 50
    jpeg_progressive: bool = Field(
        default=False,
        description=(
            "Write progressive JPEGs instead of baseline ones. Off by default: on the benchmark's "
            "photos at quality 50, progressive output was 2.4% larger and took 2.2 times as long "
            "to encode (README, Images; `make bench` measures it again)."
        ),
    )
    max_image_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 50_000_000

    # Fetching.
    fetch_connect_timeout_s: float = 5.0
    fetch_timeout_s: float = 30.0
    fetch_allowlist: Annotated[tuple[AllowlistEntry, ...], NoDecode] = ()
    max_redirects: int = 5
    source_cache: bool = Field(
        default=True,
        description="remember each source URL's validators and content hash, and fetch it again with a "
        "conditional GET (README, Never the same work twice); `off` fetches every image in full",
    )
    source_cache_ttl: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="seconds a source cache entry is used after the source last sent the image; "
        "after that the image is fetched in full again",
    )
    fetch_retries: int = Field(default=3, ge=0)
    fetch_retry_base_s: float = 0.5
    fetch_retry_max_s: float = 10.0

    # Webhooks.
    webhook_secret: str = Field(default="", repr=False)
    webhook_attempts: int = Field(default=6, ge=1)
    webhook_retry_base_s: float = 1.0
    webhook_timeout_s: float = 10.0

    # Kafka topology and workers.
    rows_partitions: int = Field(default=6, ge=6)
    results_partitions: int = 6
    events_partitions: int = 3
    topic_replication_factor: int = 1
    consumer_session_timeout_s: float = Field(default=10.0, ge=6.0)
    processor_concurrency: int = 8
    # 0: decode and encode on the worker's own thread, so a worker is one core's worth of work
    # and the deployment scales by running one worker per core (see README, Performance).
    compress_threads: int = Field(default=0, ge=0)
    worker_id: str = Field(default_factory=_default_worker_id)
    # A worker's Prometheus port (the gateway serves /metrics on its own port); None: no metrics.
    metrics_port: int | None = None
    log_level: str = "INFO"
    # Log each database command's collection and filter shape (imgpipe/command_shapes.py).
    log_database_commands: bool = False

    @field_validator("fetch_allowlist", mode="before")
    @classmethod
    def _split_allowlist(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(parse_allowlist_entry(p.strip()) for p in value.split(",") if p.strip())
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_api_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.local_kafka_port}"

    @property
    def mongodb(self) -> str:
        return self.mongodb_url or f"mongodb://127.0.0.1:{self.local_mongodb_port}/"

    @field_validator("storage_url")
    @classmethod
    def _known_storage_scheme(cls, value: str) -> str:
        parse_storage_url(value)
        return value

    @property
    def uses_local_s3(self) -> bool:
        """S3 storage with no endpoint: the local stack provisions SeaweedFS."""
        return self.storage_url.startswith("s3://") and self.s3_endpoint is None

    @property
    def s3_endpoint_url(self) -> str:
        return (self.s3_endpoint or f"http://127.0.0.1:{self.local_s3_port}").rstrip("/")

    @property
    def s3_credentials(self) -> tuple[str | None, str | None]:
        if self.s3_endpoint is None:  # the local SeaweedFS, whatever AWS_* the shell may hold
            return LOCAL_S3_ACCESS_KEY_ID, LOCAL_S3_SECRET_ACCESS_KEY
        return self.s3_access_key_id, self.s3_secret_access_key

    @property
    def base_url(self) -> str:
        """Absolute URL prefix for everything clients fetch (status, download, output images)."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
