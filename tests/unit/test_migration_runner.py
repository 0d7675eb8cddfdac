"""What the `layout` collection's records say: which migrations are pending and where each resumes,
and the database's layout."""

from __future__ import annotations

from datetime import UTC, datetime

from imgpipe.state.layout import FIRST_LAYOUT
from imgpipe.state.migration_runner import LayoutRecords, Migration, MigrationContext


async def _nothing(context: MigrationContext, item: str) -> None:
    pass


def _migration(name: str, layout: int) -> Migration:
    return Migration(name, layout, "test", _nothing)


MIGRATIONS = [_migration("0001-a", 2), _migration("0002-b", 3), _migration("0003-c", 3)]


def test_a_database_no_migration_touched_is_layout_1_with_everything_pending() -> None:
    records = LayoutRecords(applied={}, progress={})
    assert records.layout == FIRST_LAYOUT
    assert [(p.migration.name, p.after, p.done) for p in records.pending(MIGRATIONS)] == [
        ("0001-a", None, 0),
        ("0002-b", None, 0),
        ("0003-c", None, 0),
    ]


def test_applied_migrations_set_the_layout_and_an_interrupted_one_resumes_after_its_last_item() -> None:
    at = datetime(2026, 12, 6, tzinfo=UTC)
    records = LayoutRecords(
        applied={"0001-a": {"layout": 2, "applied_at": at}},
        progress={"0002-b": {"after": "req-41", "done": 42}},
    )
    assert records.layout == 2
    assert [(p.migration.name, p.after, p.done) for p in records.pending(MIGRATIONS)] == [
        ("0002-b", "req-41", 42),
        ("0003-c", None, 0),
    ]
