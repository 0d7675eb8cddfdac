"""Every imgpipe setting, read from `IMGPIPE_*` environment variables. No setting is read elsewhere.

The settings come in parts, one per component's concern (`KafkaSettings`, `StorageSettings`,
`FetchSettings`, …): small frozen objects, each field declared once in its part. `Settings`
composes them all and is the one place that reads the environment; a component is handed only the
part it uses (`settings.fetching`, `settings.storage`, …), so its signature says what of the
configuration it depends on. docs/configuration.md's table is generated part by part.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from imgpipe.config.destination_guard import AllowlistEntry, parse_allowlist
from imgpipe.config.storage_location import parse_storage_url
from imgpipe.contract.messages import JpegQuality
from imgpipe.contract.presets import Preset, parse_presets

# A listing's thumbnail and a product page's image, each as good as a JPEG of quality 75 by SSIM
# (`make bench-variants`, docs/images.md#variants).
DEFAULT_PRESETS = "thumb:400x400:webp:76,large:1600x1600:avif:59"


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class SettingsPart(BaseModel):
    """A part of the settings: read once with all the others, then handed around frozen."""

    model_config = ConfigDict(frozen=True)


Part = TypeVar("Part", bound=SettingsPart)


class KafkaSettings(SettingsPart):
    """The broker and imgpipe's topics: where Kafka is, how many partitions each topic has and how long
    it keeps messages (set when imgpipe creates a topic, and applied to existing ones when a gateway
    starts: imgpipe/runtime/topic_admin.py; the reasons in docs/architecture.md)."""

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("IMGPIPE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="the Kafka brokers to bootstrap from, comma-separated",
    )
    rows_partitions: int = Field(
        default=6,
        ge=6,
        description="partitions of `imgpipe.rows` (at least 6): the upper bound on useful processor workers",
    )
    results_partitions: int = Field(default=6, description="partitions of `imgpipe.results`")
    events_partitions: int = Field(default=3, description="partitions of `imgpipe.events`")
    topic_replication_factor: int = Field(
        default=1, description="replication factor of the topics imgpipe creates"
    )
    kafka_rows_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="how long `imgpipe.rows` keeps a row: longer than processors may all be down; a row "
        "deleted unprocessed is published again from the stored CSV by the repair, after `STALL_SECONDS`",
    )
    kafka_results_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="how long `imgpipe.results` keeps a result, for the aggregator and downstream consumers",
    )
    kafka_events_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="how long `imgpipe.events` keeps a completion event; a consumer down longer "
        "reconciles through `GET /status`",
    )
    kafka_dlq_retention_days: float = Field(
        default=30.0, gt=0, description="how long `imgpipe.rows.dlq` keeps a dead letter, for operators"
    )
    consumer_session_timeout_s: float = Field(
        default=10.0,
        ge=6.0,
        description="how long a silent worker keeps its partitions before the group gives them to "
        "others (at least 6, the broker's minimum)",
    )


class DatabaseSettings(SettingsPart):
    """The database: where it is, and whether each command's shape is logged."""

    mongodb_url: str = Field(
        default="mongodb://127.0.0.1:27017/",
        validation_alias=AliasChoices("IMGPIPE_MONGODB_URL", "MONGODB_URL"),
        description="the MongoDB server (any server speaking its wire protocol, such as FerretDB)",
    )
    mongodb_database: str = Field(default="imgpipe", description="database name")
    log_database_commands: bool = Field(
        default=False,
        description="log every database command's collection and filter shape (keys and value types, "
        "never values) at INFO, logger `imgpipe.database.commands`; the test suite uses it to check "
        "that every hot access is a single-`_id` one",
    )


class StorageSettings(SettingsPart):
    """Where images and CSVs are stored, the S3 connection when they go to a bucket, and where
    clients fetch stored images when not through the gateway."""

    storage_url: str = Field(
        default="file://processed_images",
        description="where images and CSVs are stored: `file://DIRECTORY` (relative to the working "
        "directory, or `file:///absolute`; shared by all services) or `s3://BUCKET[/PREFIX]` (any "
        "S3-compatible store; the services share no files)",
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="the S3 server's URL, e.g. `https://s3.eu-west-1.amazonaws.com` or "
        "`http://seaweedfs:8333`; unset: AWS's endpoint for `IMGPIPE_S3_REGION` (`make up` "
        "provisions a local SeaweedFS instead and sets it)",
    )
    s3_region: str = Field(default="us-east-1", description="the region S3 requests are signed for")
    s3_path_style: bool = Field(
        default=True,
        description="path-style requests (`http://host/BUCKET/KEY`), which every S3-compatible server "
        "understands; false: virtual-hosted style (`http://BUCKET.host/KEY`)",
    )
    s3_access_key_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("IMGPIPE_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        repr=False,
        description="S3 access key",
    )
    s3_secret_access_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("IMGPIPE_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
        repr=False,
        description="S3 secret key, paired with the access key",
    )
    public_image_base_url: str | None = Field(
        default=None,
        description="output image URLs become this prefix followed by the object's key in the store "
        "(a CDN, or the bucket's public endpoint, such as `https://cdn.example.com`; under `make up` "
        "on S3, the local SeaweedFS filer serves the bucket without credentials at "
        "`http://127.0.0.1:8339/buckets/imgpipe`); unset: the gateway's `/processed_images/…`",
    )

    @field_validator("storage_url")
    @classmethod
    def _known_storage_scheme(cls, value: str) -> str:
        parse_storage_url(value)
        return value

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint_without_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value is not None else None


class PublicUrls(SettingsPart):
    """Where clients reach imgpipe: the gateway's address, and the prefix of the URLs handed out."""

    host: str = Field(default="127.0.0.1", description="the gateway's listen address")
    port: int = Field(default=8000, description="the gateway's port")
    public_base_url: str | None = Field(
        default=None,
        description="prefix of every URL handed to clients (status, download, output images); "
        "unset: `http://IMGPIPE_HOST:IMGPIPE_PORT`",
    )

    @property
    def base_url(self) -> str:
        """Absolute URL prefix for everything clients fetch (status, download, output images)."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")


class AccessSettings(SettingsPart):
    """Who may use the API: the API keys, and the keys file with each key's weight and limits."""

    api_keys: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        repr=False,
        description="comma-separated API keys; when set, upload, status and download need one "
        "(docs/security.md); empty: the API is open",
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="a TOML file naming API keys by their SHA-256 digests, each with a name, a weight "
        "and limits of its own (docs/configuration.md#the-keys-file); its keys are accepted as well as "
        "those of `IMGPIPE_API_KEYS`",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_api_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @field_validator("api_keys_file", mode="before")
    @classmethod
    def _empty_file_name_is_unset(cls, value: object) -> object:
        # `IMGPIPE_API_KEYS_FILE=` (as a compose file passes an unset variable) means no file, not ".".
        return None if value == "" else value


class UploadLimits(SettingsPart):
    """What one upload, and one key, may send: sizes answered with 413 or 431, and what a key may hold
    unfinished or upload per minute unless the keys file sets its own, answered with 429 (with the
    API open, what all uploads may together; why these defaults: docs/operations.md)."""

    max_upload_bytes: int = Field(
        default=100 * 1024 * 1024, description="largest CSV upload, 100 MB (413 `upload_too_large`)"
    )
    max_rows: int = Field(
        default=1_000_000,
        description="most product rows in one CSV (413 `too_many_rows`); the keys file may lower it for "
        "a key (429 `too_many_rows_per_upload`)",
    )
    max_urls_per_row: int = Field(default=50, description="most image URLs in one row (413 `too_many_urls`)")
    max_header_bytes: int = Field(
        default=64 * 1024,
        description="largest request line and header fields together, 64 KB (431 `header_too_large`)",
    )
    max_unfinished_requests: int = Field(
        default=100,
        ge=1,
        description="most requests one key may have unfinished (429 `too_many_unfinished_requests`); "
        "with the API open, all uploads together",
    )
    max_unfinished_rows: int = Field(
        default=3_000_000,
        ge=1,
        description="most rows one key may have accepted and not yet finished, the upload's own "
        "included (429 `too_many_unfinished_rows`); at least `IMGPIPE_MAX_ROWS`",
    )
    max_uploads_per_minute: int = Field(
        default=120,
        ge=1,
        description="most uploads one key may have accepted in one minute of the clock "
        "(429 `upload_rate_exceeded`)",
    )


class LifecycleSettings(SettingsPart):
    """How long a request lives: when an unfinished one counts as stalled, how long a finished one is kept."""

    stall_seconds: float = Field(
        default=300.0,
        description='an unfinished request with no progress for this long shows `"stalled": true` in '
        "its status, and the aggregator repairs it",
    )
    retention_days: float = Field(
        default=30.0,
        gt=0,
        description="days a finished request is kept (fractions allowed: 0.01 is about 15 minutes); "
        "after that it is deleted with everything only it uses, and its URLs answer 410 Gone. "
        "A key of the keys file may have its own",
    )


class SchedulingSettings(SettingsPart):
    """How the gateways admit rows into the pipeline: at the pace rows finish, shared out fairly."""

    scheduled_rows: int = Field(
        default=64,
        ge=0,
        description="rows of all requests together that may be in `imgpipe.rows` unfinished: the gateways "
        "publish at the pace rows finish and share these out fairly, by key weight and then by request, "
        "so a new request waits behind at most this many rows; about 4 times the processors' "
        "`PROCESSOR_CONCURRENCY` in all keeps them busy; 0 publishes every row at once (first come, "
        "first served)",
    )


class ImageSettings(SettingsPart):
    """What the outputs are: the JPEG's quality and encoding, the largest image decoded, the presets."""

    jpeg_quality: JpegQuality = Field(
        default=50,
        description="JPEG quality of the output images (1 to 95), unless the upload sets its own `quality`",
    )
    jpeg_progressive: bool = Field(
        default=False,
        description="write progressive JPEGs instead of baseline ones; off because on the benchmark's "
        "photos at quality 50 progressive output was 2.4% larger and took 2.2 times as long to "
        "encode (docs/images.md)",
    )
    max_image_pixels: int = Field(
        default=50_000_000,
        description="largest image decoded, width times height, checked before decoding (`image_too_large`)",
    )
    presets: Annotated[tuple[Preset, ...], NoDecode] = Field(
        default=DEFAULT_PRESETS,
        validate_default=True,
        description="named output presets a request may ask for besides the JPEG, comma-separated "
        "`name:WIDTHxHEIGHT:format:quality` (format `jpeg`, `webp` or `avif`; quality 1 to 100): each "
        "makes a variant that fits inside the box, keeps the aspect ratio and is never enlarged "
        "(docs/configuration.md#output-presets); empty: none",
    )
    only_presets: bool = Field(
        default=False,
        description="uploads may not set per-request image parameters (today the `quality` form field; "
        "such an upload is refused with 400): every output is the JPEG of `IMGPIPE_JPEG_QUALITY` and "
        "the presets the request names, as imgproxy's `IMGPROXY_ONLY_PRESETS`",
    )

    @field_validator("presets", mode="before")
    @classmethod
    def _parse_presets(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_presets(value)
        return value

    @field_validator("presets")
    @classmethod
    def _presets_within_the_pixel_limit(cls, presets: tuple[Preset, ...], info: ValidationInfo) -> object:
        # Declared after `max_image_pixels`, which is therefore validated already (absent if invalid).
        max_pixels = info.data.get("max_image_pixels")
        for preset in presets:
            if max_pixels is not None and preset.width * preset.height > max_pixels:
                raise ValueError(
                    f"preset {preset.name!r}: its box {preset.width}x{preset.height} is more than "
                    f"IMGPIPE_MAX_IMAGE_PIXELS ({max_pixels} pixels)"
                )
        return presets


class FetchSettings(SettingsPart):
    """How source images are fetched: timeouts, where fetching may go, sizes, retries, the source cache."""

    fetch_connect_timeout_s: float = Field(default=5.0, description="connect timeout per image fetch")
    fetch_timeout_s: float = Field(default=30.0, description="total timeout per image fetch")
    fetch_allowlist: Annotated[tuple[AllowlistEntry, ...], NoDecode] = Field(
        default=(),
        description="comma-separated `host:port` pairs or CIDR networks that fetching may reach "
        "although they are private, loopback or on another port, e.g. `127.0.0.1:8090,10.0.0.0/8`",
    )
    max_redirects: int = Field(
        default=5, description="redirects followed per image, each hop checked against the destination rules"
    )
    max_image_bytes: int = Field(
        default=25 * 1024 * 1024,
        description="largest image body read, 25 MB, counted while streaming (`too_large`)",
    )
    fetch_retries: int = Field(
        default=3,
        ge=0,
        description="retries of a transient fetch failure (timeout, connection error, HTTP 429 or "
        "5xx); permanent failures are not retried",
    )
    fetch_retry_base_s: float = Field(
        default=0.5,
        description="first retry delay; it doubles per retry, with jitter; a `Retry-After` header is "
        "honored instead",
    )
    fetch_retry_max_s: float = Field(
        default=10.0, description="longest wait between two tries, `Retry-After` included"
    )
    source_cache: bool = Field(
        default=True,
        description="remember each source URL's validators and content hash, and fetch it again with a "
        "conditional GET (docs/images.md); false (or `off`) fetches every image in full, outputs "
        "stay content-addressed",
    )
    source_cache_ttl: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="seconds (7 days) a source cache entry is used after the source last sent the "
        "image; after that the image is fetched in full again",
    )

    @field_validator("fetch_allowlist", mode="before")
    @classmethod
    def _split_allowlist(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_allowlist(value)
        return value


class WebhookSettings(SettingsPart):
    """How completion webhooks are signed, retried and timed out."""

    webhook_secret: str = Field(
        default="",
        repr=False,
        description="HMAC-SHA256 key of the webhooks' `X-Imgpipe-Signature` header (set it in production)",
    )
    webhook_attempts: int = Field(
        default=6, ge=1, description="delivery attempts per webhook before it is marked `failed`"
    )
    webhook_retry_base_s: float = Field(
        default=1.0, description="first retry delay; it doubles after each failure (with ±20 % jitter)"
    )
    webhook_timeout_s: float = Field(default=10.0, description="timeout of one delivery attempt")


class ProcessSettings(SettingsPart):
    """How each service's process runs: its data directory, worker id, metrics port, log level, and a
    processor's concurrency and compression threads."""

    state_dir: Path = Field(
        default=Path(".local"),
        description="the workers' Faust data (`faust/`) and, under `make up`, the local stack's data, "
        "logs and pid files",
    )
    worker_id: str = Field(
        default_factory=_default_worker_id,
        description="the worker id reported in results; default `HOSTNAME-PID` (`make up` sets "
        "`processor-N`)",
    )
    metrics_port: int | None = Field(
        default=None,
        description="a processor's or the aggregator's Prometheus port (`/metrics`; the gateway serves "
        "it on its own port); unset: none. `make up` gives the aggregator the gateway's port + 50 "
        "and processor N + 50 + N",
    )
    log_level: str = Field(
        default="INFO",
        description="log level of every service (logs are JSON lines, with `request_id` where one is known)",
    )
    processor_concurrency: int = Field(default=8, description="rows one processor worker handles at once")
    compress_threads: int = Field(
        default=0,
        ge=0,
        description="threads per processor for decoding and encoding; 0 does it on the worker's own "
        "thread, so one worker is one core's worth of work: run one processor per core",
    )


class Settings(
    KafkaSettings,
    DatabaseSettings,
    StorageSettings,
    PublicUrls,
    AccessSettings,
    UploadLimits,
    LifecycleSettings,
    SchedulingSettings,
    ImageSettings,
    FetchSettings,
    WebhookSettings,
    ProcessSettings,
    BaseSettings,
):
    """All the parts, read from the environment. Each field's description is its row in
    docs/configuration.md (`python -m devstack.settings_doc`)."""

    model_config = SettingsConfigDict(env_prefix="IMGPIPE_", extra="ignore", frozen=True)

    def part(self, kind: type[Part]) -> Part:
        """The part `kind` of these settings, holding only its own fields."""
        values = {name: getattr(self, name) for name in kind.model_fields}
        # By name: the fields read under other names too (`MONGODB_URL`, …) have those as aliases.
        return kind.model_validate(values, by_name=True)

    @property
    def kafka(self) -> KafkaSettings:
        return self.part(KafkaSettings)

    @property
    def database(self) -> DatabaseSettings:
        return self.part(DatabaseSettings)

    @property
    def storage(self) -> StorageSettings:
        return self.part(StorageSettings)

    @property
    def access(self) -> AccessSettings:
        return self.part(AccessSettings)

    @property
    def limits(self) -> UploadLimits:
        return self.part(UploadLimits)

    @property
    def lifecycle(self) -> LifecycleSettings:
        return self.part(LifecycleSettings)

    @property
    def images(self) -> ImageSettings:
        return self.part(ImageSettings)

    @property
    def fetching(self) -> FetchSettings:
        return self.part(FetchSettings)

    @property
    def webhooks(self) -> WebhookSettings:
        return self.part(WebhookSettings)

    @property
    def process(self) -> ProcessSettings:
        return self.part(ProcessSettings)


# The parts, in the order docs/configuration.md lists them.
SETTINGS_PARTS = tuple(base for base in Settings.__bases__ if issubclass(base, SettingsPart))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
