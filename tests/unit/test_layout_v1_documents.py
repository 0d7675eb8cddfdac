"""Stored documents across releases, without servers: every document release 8261b3e stored
(tests/fixtures/layout_v1) reads with the current shapes, and what the current code writes in its
place has the same fields, values and BSON types, so that release's readers read it too."""

from __future__ import annotations

import bson

from imgpipe.state.request_state import state_document, state_of
from tests.support.layout_fixtures import LAYOUT_V1_FIXTURES

COLLECTIONS = LAYOUT_V1_FIXTURES.collections()


def _as_stored(document: dict[str, object]) -> dict[str, object]:
    """A document as the driver would store and read it back."""
    return bson.decode(bson.encode(document))


def test_request_state_versions_read_and_are_written_back_as_they_were() -> None:
    for recorded in COLLECTIONS["request_states"]:
        request_id = str(recorded["_id"]).rpartition("#")[0]
        state = state_of(recorded)
        # Written before retention: the one field added since (layout 2) comes back empty.
        assert _as_stored(state_document(request_id, state)) == {**recorded, "expires_at": None}
