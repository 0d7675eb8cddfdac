"""Content names: the same source bytes and settings give the same name, anything else another."""

from __future__ import annotations

import pytest

from processors.content_address import content_name


@pytest.mark.parametrize("owner", [None, "owner-1"])
def test_content_names_depend_on_every_input(owner: str | None) -> None:
    base = content_name(owner, "ab" * 32, 50, False)
    assert len(base) == 64
    assert base == content_name(owner, "ab" * 32, 50, False)
    others = {
        content_name("someone-else", "ab" * 32, 50, False),
        content_name(owner, "cd" * 32, 50, False),
        content_name(owner, "ab" * 32, 51, False),
        content_name(owner, "ab" * 32, 50, True),
    }
    assert base not in others and len(others) == 4
