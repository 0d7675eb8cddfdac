"""Each API key's name, weight and limits: the keys file (IMGPIPE_API_KEYS_FILE) over the settings.

The keys file is TOML, one `[[keys]]` table per key. A key is named there only by its SHA-256
digest, so the file holds nothing that opens the API. A limit a key's table leaves out is the
setting's (IMGPIPE_MAX_UNFINISHED_REQUESTS, …), as for every key of IMGPIPE_API_KEYS and, with the
API open, for all anonymous uploads together. The file is read once, at start: one that cannot
work stops the gateway with one line naming what is wrong (`InvalidKeyPolicies`).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from imgpipe.config.settings import LifecycleSettings, UploadLimits

DEFAULT_POLICY_NAME = "default"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class InvalidKeyPolicies(Exception):
    """The keys file or the default limits cannot work; the message is one line for the operator."""


class KeyPolicy(BaseModel):
    """What one owner may do: its share of the pipeline (`weight`, relative to the other keys') and
    its limits, each refused with 429 (gateway/api/upload_quotas.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    max_unfinished_requests: int = Field(ge=1)
    max_unfinished_rows: int = Field(ge=1)
    max_rows_per_upload: int = Field(ge=1)
    max_uploads_per_minute: int = Field(ge=1)
    # Not a limit: how long its finished requests are kept (aggregator/expiry.py).
    retention_days: float = Field(gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _a_full_upload_can_be_accepted(self) -> KeyPolicy:
        # Otherwise an upload of the allowed size would be refused forever, even with nothing unfinished.
        if self.max_rows_per_upload > self.max_unfinished_rows:
            raise ValueError(
                f"max_rows_per_upload ({self.max_rows_per_upload}) is more than max_unfinished_rows "
                f"({self.max_unfinished_rows}): an upload that size would always be refused; lower it"
            )
        return self


def default_policy(limits: UploadLimits, lifecycle: LifecycleSettings) -> KeyPolicy:
    """The settings' limits: every key's unless the keys file says otherwise."""
    try:
        return KeyPolicy(
            name=DEFAULT_POLICY_NAME,
            max_unfinished_requests=limits.max_unfinished_requests,
            max_unfinished_rows=limits.max_unfinished_rows,
            max_rows_per_upload=limits.max_rows,
            max_uploads_per_minute=limits.max_uploads_per_minute,
            retention_days=lifecycle.retention_days,
        )
    except ValidationError:
        # The settings are each at least 1: what fails is the rule between these two.
        raise InvalidKeyPolicies(
            f"IMGPIPE_MAX_ROWS ({limits.max_rows}) is more than IMGPIPE_MAX_UNFINISHED_ROWS "
            f"({limits.max_unfinished_rows}): an upload that size would always be refused"
        ) from None


def _hex_digest(value: str) -> str:
    digest = value.lower()
    if not _HEX_DIGEST.fullmatch(digest):
        raise ValueError('must be the key\'s SHA-256 in 64 hex digits: printf %s "$KEY" | sha256sum')
    return digest


def _defaults(info: ValidationInfo) -> KeyPolicy:
    """The policy a table's silences stand for, handed over by `read_keys_file`."""
    assert info.context is not None
    defaults: KeyPolicy = info.context["defaults"]
    return defaults


class KeyEntry(BaseModel):
    """One `[[keys]]` table: the key's digest and its policy, the default's where the table is silent."""

    model_config = ConfigDict(frozen=True)

    sha256: Annotated[str, AfterValidator(_hex_digest)]
    policy: KeyPolicy

    @model_validator(mode="before")
    @classmethod
    def _over_the_defaults(cls, table: Any, info: ValidationInfo) -> Any:
        if not isinstance(table, dict):
            return table  # pydantic says it is not a table
        fields = {name: value for name, value in table.items() if name != "sha256"}
        entry = {"policy": _defaults(info).model_dump(exclude={"name"}) | fields}
        return entry | ({"sha256": table["sha256"]} if "sha256" in table else {})

    @model_validator(mode="after")
    def _within_the_gateway_limit(self, info: ValidationInfo) -> KeyEntry:
        # IMGPIPE_MAX_ROWS bounds the work of validating any upload, whoever sends it: a key may only
        # lower it.
        most = _defaults(info).max_rows_per_upload
        if self.policy.max_rows_per_upload > most:
            raise ValueError(
                f"max_rows_per_upload ({self.policy.max_rows_per_upload}) is more than IMGPIPE_MAX_ROWS "
                f"({most}), the most rows any upload may have"
            )
        return self


class KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_key_and_name_once(self) -> KeysFile:
        for what, values in (
            ("sha256", [entry.sha256 for entry in self.keys]),
            ("name", [entry.policy.name for entry in self.keys]),
        ):
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"each key must appear once, but {what} {repeated[0]!r} appears more often")
        return self


def _problem(error: Any) -> str:
    """`key 2: max_unfinished_rows: Input should be …`: tables counted from 1 as a reader does, and
    without `policy`, the model's own nesting."""
    location = error["loc"]
    named = []
    for position, part in enumerate(location):
        if isinstance(part, int):
            named.append(f"key {part + 1}")
        elif part != "policy" and not (part == "keys" and position + 1 < len(location)):
            named.append(str(part))
    return ": ".join([*named, error["msg"]])


def read_keys_file(path: Path, defaults: KeyPolicy) -> dict[str, KeyPolicy]:
    """Each key's policy by the key's digest."""
    try:
        with path.open("rb") as file:
            content = tomllib.load(file)
        keys = KeysFile.model_validate(content, context={"defaults": defaults})
    except OSError as unreadable:
        raise InvalidKeyPolicies(f"cannot read the API keys file {path}: {unreadable.strerror}") from None
    except tomllib.TOMLDecodeError as not_toml:
        raise InvalidKeyPolicies(f"the API keys file {path} is not TOML: {not_toml}") from None
    except ValidationError as invalid:
        problems = "; ".join(_problem(error) for error in invalid.errors())
        raise InvalidKeyPolicies(f"invalid API keys file {path}: {problems}") from None
    return {entry.sha256: entry.policy for entry in keys.keys}
