"""The source cache's decisions for one URL: reuse, revalidate or fetch, and what is written back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from imgpipe.state.database import SourceEntry
from processors.fetch import FetchedImage, Validators
from processors.image_outputs import ImageOutput
from processors.source_plan import (
    Fetch,
    Reuse,
    Revalidate,
    Write,
    confirmed_entry,
    plan_for,
    write_for,
)

REQUEST = "this-request"
OUTPUTS = [ImageOutput("jpeg-name"), ImageOutput("thumb-name")]


def _entry(validated_by: str = "an-earlier-request", no_cache: bool = False) -> SourceEntry:
    return SourceEntry(
        etag='"v1"',
        last_modified="Tue, 03 Nov 2026 10:00:00 GMT",
        source_sha256="0" * 64,
        bytes_in=1_000,
        width=97,
        height=61,
        no_cache=no_cache,
        fetched_at=datetime.now(UTC),
        validated_by=validated_by,
    )


def test_an_entry_with_every_output_stored_is_revalidated_with_its_validators() -> None:
    plan = plan_for(_entry(), OUTPUTS, [512, 128], REQUEST, in_other_rows=False)

    assert isinstance(plan, Revalidate)
    assert plan.validators == Validators('"v1"', "Tue, 03 Nov 2026 10:00:00 GMT")
    assert list(plan.stored.sizes) == [512, 128]


def test_an_entry_this_request_confirmed_is_reused_without_asking_the_source() -> None:
    plan = plan_for(_entry(validated_by=REQUEST), OUTPUTS, [512, 128], REQUEST, in_other_rows=False)

    assert isinstance(plan, Reuse)
    assert plan.stored.entry["width"] == 97


def test_a_no_cache_entry_is_asked_again_even_within_its_request() -> None:
    plan = plan_for(
        _entry(validated_by=REQUEST, no_cache=True), OUTPUTS, [512, 128], REQUEST, in_other_rows=False
    )

    assert isinstance(plan, Revalidate)


@pytest.mark.parametrize("sizes", [[None, 128], [512, None]])
def test_an_output_missing_from_storage_means_the_bytes_are_fetched_again(sizes: list[int | None]) -> None:
    plan = plan_for(_entry(validated_by=REQUEST), OUTPUTS, sizes, REQUEST, in_other_rows=False)

    assert plan == Fetch(claimed=False)
    assert plan.validators is None


def _revalidate(in_other_rows: bool = False) -> Revalidate:
    plan = plan_for(_entry(), OUTPUTS, [512, 128], REQUEST, in_other_rows)
    assert isinstance(plan, Revalidate)
    return plan


def _answer_304(etag: str = '"v1"', no_store: bool = False, no_cache: bool = False) -> FetchedImage:
    return FetchedImage(
        None, Validators(etag, "Tue, 03 Nov 2026 10:00:00 GMT"), no_store=no_store, no_cache=no_cache
    )


def _answer_200(etag: str = '"v1"', no_store: bool = False) -> FetchedImage:
    return FetchedImage(b"image", Validators(etag, "Tue, 03 Nov 2026 10:00:00 GMT"), no_store=no_store)


def test_a_304_records_the_request_and_keeps_the_bytes_description() -> None:
    before = _revalidate().stored.entry

    after = confirmed_entry(before, _answer_304(etag='"v2"'), REQUEST)

    assert after["validated_by"] == REQUEST and after["etag"] == '"v2"'
    assert (after["source_sha256"], after["bytes_in"], after["fetched_at"]) == (
        before["source_sha256"],
        before["bytes_in"],
        before["fetched_at"],
    )
    assert before["validated_by"] == "an-earlier-request"  # a new entry; the old one is unchanged


@pytest.mark.parametrize(("in_other_rows", "write"), [(False, Write.NOTHING), (True, Write.REPLACE)])
def test_an_unchanged_304_is_written_back_only_for_a_url_in_other_rows(
    in_other_rows: bool, write: Write
) -> None:
    assert write_for(_revalidate(in_other_rows), _answer_304()) is write


@pytest.mark.parametrize("answer", [_answer_304(etag='"v2"'), _answer_304(no_cache=True)])
def test_a_304_that_changes_what_the_source_says_is_written_back(answer: FetchedImage) -> None:
    assert write_for(_revalidate(), answer) is Write.REPLACE


def test_new_bytes_for_a_known_url_replace_its_entry_even_with_the_same_validators() -> None:
    assert write_for(_revalidate(), _answer_200()) is Write.REPLACE


def test_a_first_fetch_joins_its_rows_insert_and_a_claimed_one_replaces_its_claim() -> None:
    assert write_for(Fetch(), _answer_200()) is Write.INSERT_WITH_ROW
    assert write_for(Fetch(claimed=True), _answer_200()) is Write.REPLACE


@pytest.mark.parametrize("plan", [Fetch(), Fetch(claimed=True), _revalidate()])
@pytest.mark.parametrize("answer", [_answer_200(no_store=True), _answer_304(no_store=True)])
def test_no_store_forgets_the_entry(plan: Revalidate | Fetch, answer: FetchedImage) -> None:
    assert write_for(plan, answer) is Write.FORGET


def test_a_failed_fetch_ends_its_claim_and_touches_nothing_else() -> None:
    assert write_for(Fetch(claimed=True), None) is Write.FORGET
    assert write_for(Fetch(), None) is Write.NOTHING
    assert write_for(_revalidate(), None) is Write.NOTHING
