"""The keys file and the settings give each API key its owner id, name, weight and limits; a file
that cannot work stops the gateway at start with one line."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from devstack.paths import IMGPIPE_COMMAND, ROOT
from gateway.api.api_keys import ApiKeys, load_api_keys
from gateway.api.key_policies import InvalidKeyPolicies, KeyPolicy
from imgpipe.config.settings import Settings

pytestmark = pytest.mark.usefixtures("clean_environment")

CATALOGUE_KEY, SHOP_KEY, ENV_KEY = "key-catalogue", "key-shop", "key-from-env"


def _api_keys(settings: Settings) -> ApiKeys:
    return load_api_keys(settings.access, settings.limits, settings.lifecycle)


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _settings(tmp_path: Path, keys_file: str | None, **changes: object) -> Settings:
    path = None
    if keys_file is not None:
        path = tmp_path / "keys.toml"
        path.write_text(keys_file)
    return Settings(api_keys_file=path, **changes)  # type: ignore[arg-type]


TWO_KEYS = f"""
[[keys]]
name = "catalogue"
sha256 = "{_sha256(CATALOGUE_KEY).upper()}"
weight = 2.5
max_unfinished_requests = 3
max_unfinished_rows = 5000
max_rows_per_upload = 1000
max_uploads_per_minute = 7
retention_days = 0.5

[[keys]]
name = "shop"
sha256 = "{_sha256(SHOP_KEY)}"
max_uploads_per_minute = 30
"""


def test_each_key_of_the_file_has_its_own_policy_and_the_settings_fill_in_the_rest(tmp_path: Path) -> None:
    keys = _api_keys(
        _settings(
            tmp_path,
            TWO_KEYS,
            max_unfinished_requests=50,
            max_rows=2000,
            max_unfinished_rows=9000,
            retention_days=7,
        )
    )

    catalogue, shop = keys.owner_of(CATALOGUE_KEY), keys.owner_of(SHOP_KEY)
    assert catalogue is not None and shop is not None
    assert keys.policy_of(catalogue) == KeyPolicy(
        name="catalogue",
        weight=2.5,
        max_unfinished_requests=3,
        max_unfinished_rows=5000,
        max_rows_per_upload=1000,
        max_uploads_per_minute=7,
        retention_days=0.5,
    )
    assert keys.policy_of(shop) == KeyPolicy(
        name="shop",
        weight=1.0,
        max_unfinished_requests=50,
        max_unfinished_rows=9000,
        max_rows_per_upload=2000,
        max_uploads_per_minute=30,
        retention_days=7,
    )


def test_owner_ids_are_the_first_16_hex_digits_of_the_digest_wherever_the_key_is_configured(
    tmp_path: Path,
) -> None:
    # Stored requests name their owner by this id: it must not change with the keys file.
    keys = _api_keys(_settings(tmp_path, TWO_KEYS, api_keys=(ENV_KEY,)))

    assert keys.enabled
    assert keys.owner_of(SHOP_KEY) == _sha256(SHOP_KEY)[:16]
    assert keys.owner_of(ENV_KEY) == _sha256(ENV_KEY)[:16]
    assert keys.owner_of("not-a-key") is None
    assert keys.owner_of(None) is None


def test_keys_of_the_setting_the_open_api_and_unknown_owners_have_the_default_limits(tmp_path: Path) -> None:
    settings = _settings(tmp_path, None, api_keys=(ENV_KEY,))
    keys = _api_keys(settings)
    default = KeyPolicy(
        name="default",
        max_unfinished_requests=settings.max_unfinished_requests,
        max_unfinished_rows=settings.max_unfinished_rows,
        max_rows_per_upload=settings.max_rows,
        max_uploads_per_minute=settings.max_uploads_per_minute,
        retention_days=settings.retention_days,
    )

    env_owner = keys.owner_of(ENV_KEY)
    assert keys.policy_of(env_owner) == default.model_copy(update={"name": env_owner})
    assert keys.policy_of(None) == default
    assert keys.policy_of("0123456789abcdef") == default  # a key removed while its requests run
    assert not _api_keys(_settings(tmp_path, None)).enabled


def test_the_default_limits_let_a_million_row_csv_in() -> None:
    settings = Settings()
    policy = _api_keys(settings).policy_of(None)

    assert settings.max_rows == policy.max_rows_per_upload == 1_000_000
    assert policy.max_unfinished_rows >= 2 * settings.max_rows  # and a second while it runs
    assert policy.weight == 1.0


def _table(name: str = "x", digest: str = _sha256("k"), extra: str = "") -> str:
    return f"[[keys]]\nname = '{name}'\nsha256 = '{digest}'\n{extra}\n"


@pytest.mark.parametrize(
    ("keys_file", "problem"),
    [
        ("[[keys]\nname = 'x'", "is not TOML: "),
        ("keys = []", "keys: List should have at least 1 item after validation, not 0"),
        ("[[keys]]\nname = 'x'", "key 1: sha256: Field required"),
        (
            _table(digest=f"{_sha256('k')}  -"),
            "key 1: sha256: Value error, must be the key's SHA-256 in 64 hex digits: "
            'printf %s "$KEY" | sha256sum',
        ),
        (f"[[keys]]\nsha256 = '{_sha256('k')}'", "key 1: name: Field required"),
        (_table(extra="weight = 0"), "key 1: weight: Input should be greater than 0"),
        (
            _table() + _table("y", _sha256("j"), "max_uploads_per_min = 5"),
            "key 2: max_uploads_per_min: Extra inputs are not permitted",
        ),
        (
            _table(extra="max_unfinished_requests = 0"),
            "key 1: max_unfinished_requests: Input should be greater than or equal to 1",
        ),
        (
            _table(extra="max_rows_per_upload = 1000001"),
            "key 1: Value error, max_rows_per_upload (1000001) is more than IMGPIPE_MAX_ROWS (1000000), "
            "the most rows any upload may have",
        ),
        (
            _table(extra="max_unfinished_rows = 500"),
            "key 1: Value error, max_rows_per_upload (1000000) is more than max_unfinished_rows (500): "
            "an upload that size would always be refused; lower it",
        ),
        (
            _table("x") + _table("y"),
            f"Value error, each key must appear once, but sha256 '{_sha256('k')}' appears more often",
        ),
        (
            _table("x") + _table("x", _sha256("j")),
            "Value error, each key must appear once, but name 'x' appears more often",
        ),
    ],
    ids=[
        "not-toml",
        "no-key",
        "no-digest",
        "sha256sum-output-pasted-whole",
        "no-name",
        "zero-weight",
        "misspelt-limit",
        "zero-limit",
        "above-max-rows",
        "upload-never-fits",
        "digest-twice",
        "name-twice",
    ],
)
def test_a_keys_file_that_cannot_work_is_refused_naming_the_problem(
    tmp_path: Path, keys_file: str, problem: str
) -> None:
    with pytest.raises(InvalidKeyPolicies) as refused:
        _api_keys(_settings(tmp_path, keys_file))
    assert problem in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_key_in_both_the_file_and_the_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidKeyPolicies, match=r"the key of 'shop' in .* is also in IMGPIPE_API_KEYS"):
        _api_keys(_settings(tmp_path, TWO_KEYS, api_keys=(SHOP_KEY,)))


def test_a_missing_keys_file_is_refused(tmp_path: Path) -> None:
    settings = Settings(api_keys_file=tmp_path / "nowhere.toml")
    with pytest.raises(InvalidKeyPolicies, match=r"cannot read the API keys file .*nowhere\.toml: No such"):
        _api_keys(settings)


def test_default_limits_where_no_upload_of_the_allowed_size_fits_are_refused() -> None:
    with pytest.raises(
        InvalidKeyPolicies,
        match=r"IMGPIPE_MAX_ROWS \(5000\) is more than IMGPIPE_MAX_UNFINISHED_ROWS \(4000\)",
    ):
        _api_keys(Settings(max_rows=5000, max_unfinished_rows=4000))


def test_the_gateway_stops_at_start_with_one_line_when_the_keys_file_cannot_work(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text("[[keys]]\nname = 'x'\nsha256 = 'not-a-digest'\n")
    environment = {
        **os.environ,
        "IMGPIPE_API_KEYS_FILE": str(keys_file),
        "IMGPIPE_STORAGE_URL": f"file://{tmp_path / 'store'}",
    }
    result = subprocess.run(
        [str(IMGPIPE_COMMAND), "gateway"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr.splitlines()) == (
        1,
        [
            f"imgpipe gateway: invalid API keys file {keys_file}: key 1: sha256: Value error, must be the "
            'key\'s SHA-256 in 64 hex digits: printf %s "$KEY" | sha256sum'
        ],
    )
