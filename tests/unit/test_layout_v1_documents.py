"""Stored documents across releases, without servers: every document release 8261b3e stored
(tests/fixtures/layout_v1) reads with the current shapes, and what the current code writes in its
place has the same fields, values and BSON types, so that release's readers read it too."""

from __future__ import annotations

import json
from typing import Any

import bson

from imgpipe.contract.messages import ImageOutcome
from imgpipe.state.request_state import state_document, state_of
from imgpipe.state.row_outcomes import RowState, decode_chunk, encode_chunk, outcome_of, row_document
from imgpipe.state.webhook_deliveries import DeliveryStatus, WebhookDelivery
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


def test_finished_rows_read_typed_and_are_written_back_as_they_were() -> None:
    for recorded in COLLECTIONS["row_outcomes"]:
        request_id, _, row = str(recorded["_id"]).rpartition(":")
        outcome = outcome_of(recorded)
        assert all(isinstance(image, ImageOutcome) for image in outcome.images)
        rewritten = row_document(request_id, int(row), outcome)
        # Every field as it was, and the one added since (the presets' variants) empty.
        assert json.loads(rewritten["outcome"]) == _with_empty_variants(json.loads(recorded["outcome"]))
    for recorded in COLLECTIONS["row_chunks"]:
        rows = decode_chunk(recorded["rows"])
        assert {outcome.status for outcome in rows.values()} == {RowState.DONE, RowState.FAILED}
        assert json.loads(encode_chunk(rows)) == {
            row: _with_empty_variants(outcome) for row, outcome in json.loads(recorded["rows"]).items()
        }


def _with_empty_variants(outcome: dict[str, Any]) -> dict[str, Any]:
    return {**outcome, "images": [{**image, "variants": None} for image in outcome["images"]]}


def test_webhook_deliveries_read_typed_and_are_written_back_as_they_were() -> None:
    for recorded in COLLECTIONS["webhooks"]:
        assert DeliveryStatus(recorded["status"]) is DeliveryStatus.DELIVERED
        for stored in recorded["deliveries"]:
            delivery = WebhookDelivery.model_validate(stored)
            assert delivery.succeeded
            assert _as_stored(delivery.model_dump()) == stored
