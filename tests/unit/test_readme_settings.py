"""The README's settings table lists every setting, by the variable a user would set."""

from __future__ import annotations

import re

from devstack.paths import ROOT
from imgpipe.settings import Settings


def _documented_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)`", table, flags=re.MULTILINE))


def _setting_variables() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def test_every_setting_is_in_the_readme_table() -> None:
    documented = _documented_variables()
    # Two settings are documented under their short, conventional names.
    documented |= {"IMGPIPE_KAFKA_BOOTSTRAP_SERVERS", "IMGPIPE_MONGODB_URL"}
    assert _setting_variables() - documented == set()


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    documented = _documented_variables() - {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL"}
    assert documented - _setting_variables() == set()
