"""gateway.api.preset_choice: the presets an upload's fields name, in the order named, once each."""

from __future__ import annotations

import pytest

from gateway.api.errors import ApiError
from gateway.api.preset_choice import chosen_presets
from imgpipe.contract.presets import parse_presets

KNOWN = parse_presets("thumb:400x400:webp:75,large:1600x1600:avif:50,page:800x800:jpeg:80")


def _names(fields: list[str]) -> list[str]:
    return [preset.name for preset in chosen_presets(fields, KNOWN)]


def test_names_separated_by_commas_or_in_repeated_fields_in_the_order_named() -> None:
    assert _names(["large, thumb"]) == ["large", "thumb"]
    assert _names(["page", "thumb"]) == ["page", "thumb"]


def test_a_name_given_twice_counts_once_and_empty_names_are_none() -> None:
    assert _names(["thumb,thumb", "thumb", " ,"]) == ["thumb"]
    assert _names([]) == []


def test_the_chosen_presets_are_the_configured_definitions() -> None:
    assert chosen_presets(["page"], KNOWN) == [KNOWN[2]]


def test_an_unknown_name_is_a_400_listing_the_known_ones() -> None:
    with pytest.raises(ApiError) as refused:
        chosen_presets(["thumb,Thumb"], KNOWN)
    assert (refused.value.status_code, refused.value.code) == (400, "unknown_preset")
    assert refused.value.details["known"] == ["thumb", "large", "page"]
