"""imgpipe.config.settings.Settings: environment variables in, typed settings out."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from imgpipe.config.destination_guard import AllowedHostPort, parse_allowlist_entry
from imgpipe.config.settings import SETTINGS_PARTS, PublicUrls, Settings
from imgpipe.contract.presets import OutputFormat, Preset

pytestmark = pytest.mark.usefixtures("clean_environment")


def test_fetch_allowlist_parses_networks_and_host_port_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "IMGPIPE_FETCH_ALLOWLIST", "127.0.0.1/32, 10.0.0.0/8,localhost:8765 ,[::1]:9000,::1/128,"
    )

    settings = Settings()

    assert settings.fetch_allowlist == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        AllowedHostPort(host="localhost", port=8765),
        AllowedHostPort(host="::1", port=9000),
        ipaddress.ip_network("::1/128"),
    )


def test_fetch_allowlist_defaults_to_empty() -> None:
    assert Settings().fetch_allowlist == ()


@pytest.mark.parametrize("entry", ["localhost", "example.com:http", "10.0.0.0/33", "300.1.1.1/8"])
def test_bad_allowlist_entry_is_a_validation_error(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    monkeypatch.setenv("IMGPIPE_FETCH_ALLOWLIST", f"127.0.0.1/32,{entry}")

    with pytest.raises(ValidationError):
        Settings()


def test_parse_allowlist_entry_bare_address_is_a_single_host_network() -> None:
    assert parse_allowlist_entry("127.0.0.1") == ipaddress.ip_network("127.0.0.1/32")
    assert parse_allowlist_entry("10.1.2.3/8") == ipaddress.ip_network("10.0.0.0/8")
    assert parse_allowlist_entry("Images.Example:8080") == AllowedHostPort("images.example", 8080)


def test_unprefixed_service_locations_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("MONGODB_URL", "mongodb://db.internal:27017/")

    settings = Settings()

    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.mongodb_url == "mongodb://db.internal:27017/"


def test_prefixed_service_locations_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_KAFKA_BOOTSTRAP_SERVERS", "broker:19092")
    monkeypatch.setenv("IMGPIPE_MONGODB_URL", "mongodb://mongo:27018/")

    settings = Settings()

    assert settings.kafka_bootstrap_servers == "broker:19092"
    assert settings.mongodb_url == "mongodb://mongo:27018/"


def test_unset_service_locations_are_the_usual_local_ports() -> None:
    settings = Settings()

    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.mongodb_url == "mongodb://127.0.0.1:27017/"
    assert settings.s3_endpoint is None  # AWS itself


def test_base_url_defaults_to_the_gateway_address() -> None:
    assert Settings().base_url == "http://127.0.0.1:8000"


def test_base_url_follows_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_HOST", "0.0.0.0")
    monkeypatch.setenv("IMGPIPE_PORT", "9000")

    assert Settings().base_url == "http://0.0.0.0:9000"


@pytest.mark.parametrize(
    "configured", ["https://images.example.com/imgpipe/", "https://images.example.com/imgpipe"]
)
def test_base_url_uses_public_base_url_without_trailing_slash(
    monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    monkeypatch.setenv("IMGPIPE_PUBLIC_BASE_URL", configured)

    assert Settings().base_url == "https://images.example.com/imgpipe"


def test_storage_defaults_to_files_under_processed_images() -> None:
    settings = Settings()
    assert settings.storage_url == "file://processed_images"


def test_s3_credentials_come_from_the_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_STORAGE_URL", "s3://images/team-a")
    monkeypatch.setenv("IMGPIPE_S3_ENDPOINT", "https://s3.eu-west-1.amazonaws.com/")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    settings = Settings()
    assert settings.s3_endpoint == "https://s3.eu-west-1.amazonaws.com"
    assert (settings.s3_access_key_id, settings.s3_secret_access_key) == ("AKIAEXAMPLE", "secret")
    assert "secret" not in repr(settings)


def test_an_unknown_storage_scheme_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_STORAGE_URL", "ftp://images")
    with pytest.raises(ValidationError, match="unknown storage scheme 'ftp'"):
        Settings()


def test_default_presets_are_a_webp_thumbnail_and_an_avif_large_image() -> None:
    assert [(p.name, p.width, p.height, p.format) for p in Settings().presets] == [
        ("thumb", 400, 400, OutputFormat.WEBP),
        ("large", 1600, 1600, OutputFormat.AVIF),
    ]
    assert Settings().only_presets is False


def test_presets_are_read_from_their_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_PRESETS", "card:800x800:jpeg:70")
    monkeypatch.setenv("IMGPIPE_ONLY_PRESETS", "true")
    settings = Settings()
    assert settings.presets == (
        Preset(name="card", width=800, height=800, format=OutputFormat.JPEG, quality=70),
    )
    assert settings.only_presets is True
    monkeypatch.setenv("IMGPIPE_PRESETS", "")
    assert Settings().presets == ()


def test_a_bad_preset_is_a_validation_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_PRESETS", "thumb:400x400:webp:75,huge:400x400:png:75")
    with pytest.raises(ValidationError, match="preset 'huge': unknown format 'png'"):
        Settings()


def test_a_preset_box_over_the_pixel_limit_is_a_validation_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMGPIPE_MAX_IMAGE_PIXELS", "1000000")
    monkeypatch.setenv("IMGPIPE_PRESETS", "square:1000x1000:jpeg:70,poster:2000x1000:avif:50")
    with pytest.raises(ValidationError) as raised:
        Settings()
    (error,) = raised.value.errors()
    assert error["loc"] == ("presets",)
    assert (
        "preset 'poster': its box 2000x1000 is more than IMGPIPE_MAX_IMAGE_PIXELS (1000000 pixels)"
        in (error["msg"])
    )


def test_each_part_holds_what_was_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Read under their conventional names, into fields whose alias is not their own name.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker.test:9093")
    monkeypatch.setenv("MONGODB_URL", "mongodb://db.test:27018/")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key-id")
    monkeypatch.setenv("IMGPIPE_FETCH_ALLOWLIST", "10.0.0.0/8")
    monkeypatch.setenv("IMGPIPE_PRESETS", "small:100x100:webp:70")
    monkeypatch.setenv("IMGPIPE_PUBLIC_BASE_URL", "https://imgpipe.test/")

    settings = Settings()

    assert settings.kafka.kafka_bootstrap_servers == "broker.test:9093"
    assert settings.database.mongodb_url == "mongodb://db.test:27018/"
    assert settings.storage.s3_access_key_id == "key-id"
    assert settings.fetching.fetch_allowlist == (ipaddress.ip_network("10.0.0.0/8"),)
    assert [preset.name for preset in settings.images.presets] == ["small"]
    assert settings.part(PublicUrls).base_url == "https://imgpipe.test"
    for part in SETTINGS_PARTS:
        held = settings.part(part)
        assert {name: getattr(held, name) for name in part.model_fields} == {
            name: getattr(settings, name) for name in part.model_fields
        }


def test_every_setting_is_in_exactly_one_part() -> None:
    names = [name for part in SETTINGS_PARTS for name in part.model_fields]
    assert sorted(names) == sorted(Settings.model_fields)
