"""The README's settings table lists every setting, by the variable a user would set."""

from __future__ import annotations

import re

from pydantic import AliasChoices

from devstack.paths import ROOT
from imgpipe.settings import Settings


def _documented_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z0-9_]+)`", table, flags=re.MULTILINE))


def _setting_variables() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def _aliases(variable: str) -> set[str]:
    """The conventional names a setting is also read under (KAFKA_BOOTSTRAP_SERVERS,
    AWS_ACCESS_KEY_ID); the table shows those."""
    alias = Settings.model_fields[variable.removeprefix("IMGPIPE_").lower()].validation_alias
    if not isinstance(alias, AliasChoices):
        return set()
    return {choice for choice in alias.choices if isinstance(choice, str)} - {variable}


def test_every_setting_is_in_the_readme_table() -> None:
    documented = _documented_variables()
    missing = {
        name for name in _setting_variables() if name not in documented and not _aliases(name) & documented
    }
    assert missing == set()


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    conventional = set().union(*(_aliases(name) for name in _setting_variables()))
    assert _documented_variables() - conventional - _setting_variables() == set()
