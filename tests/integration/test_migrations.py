"""The stored layout's migrations on the real database and storage: a migration killed (-9) midway
resumes after the last item it recorded and redoes nothing before it; `--dry-run` says what would
be done and changes nothing; the storage marker records the layout."""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import MongoClient

from devstack.paths import IMGPIPE_COMMAND, ROOT, VENV_PYTHON
from devstack.sync_run import run_sync
from devstack.waiting import wait_until
from imgpipe.state.database import LAYOUT, Document
from imgpipe.state.layout import LAYOUT_VERSION, stored_marker
from imgpipe.state.migration_runner import applied_id, progress_id
from imgpipe.storage.factory import open_storage
from tests.support.migration_runs import EFFECTS, ITEMS, items_collection
from tests.support.stack import RunningStack

pytestmark = pytest.mark.integration


def _runner(name: str, mode: str) -> list[str]:
    return [str(VENV_PYTHON), "-m", "tests.support.migration_runs", name, mode]


def _run(stack: RunningStack, argv: list[str]) -> str:
    done = subprocess.run(argv, cwd=ROOT, env=stack.environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def _what_a_migration_touches(mongo: MongoClient[Document], stack: RunningStack, name: str) -> Any:
    db = mongo[stack.settings.mongodb_database]
    marker = run_sync(stored_marker(open_storage(stack.settings.storage, stack.settings.base_url)))
    return (
        sorted(map(str, db[LAYOUT.name].find())),
        sorted(map(str, db[EFFECTS].find({"migration": name}))),
        marker,
    )


def test_a_killed_migration_resumes_without_redoing_what_it_recorded(
    stack: RunningStack, mongo: MongoClient[Document]
) -> None:
    name = f"test_{uuid.uuid4().hex[:8]}"
    db = mongo[stack.settings.mongodb_database]
    # In another order than their `_id`s: the migration goes by `_id`.
    db[items_collection(name).name].insert_many([{"_id": item} for item in reversed(ITEMS)])

    before = _what_a_migration_touches(mongo, stack, name)
    plan = _run(stack, _runner(name, "plan"))
    assert f"would apply {name} (to layout {LAYOUT_VERSION}): {len(ITEMS)} item(s)" in plan
    assert _what_a_migration_touches(mongo, stack, name) == before

    first = subprocess.Popen(
        _runner(name, "run"),
        cwd=ROOT,
        env=stack.environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: (db[LAYOUT.name].find_one({"_id": progress_id(name)}) or {}).get("done", 0) >= 5,
            60,
            "the migration recorded five items",
        )
    finally:
        first.kill()
        first.wait()
    recorded = db[LAYOUT.name].find_one({"_id": progress_id(name)})
    assert recorded is not None and db[LAYOUT.name].find_one({"_id": applied_id(name)}) is None
    after_kill = recorded["after"]

    before = _what_a_migration_touches(mongo, stack, name)
    plan = _run(stack, _runner(name, "plan"))
    assert f"resuming after {after_kill!r} ({recorded['done']} done)" in plan
    assert _what_a_migration_touches(mongo, stack, name) == before

    resumed = _run(stack, _runner(name, "run"))
    assert f"resuming after {after_kill!r}" in resumed
    applied = db[LAYOUT.name].find_one({"_id": applied_id(name)})
    assert applied is not None and applied["items"] == len(ITEMS)

    effects = Counter(effect["item"] for effect in db[EFFECTS].find({"migration": name}))
    assert set(effects) == set(ITEMS)
    assert all(effects[item] == 1 for item in ITEMS if item <= after_kill), effects
    marker = run_sync(stored_marker(open_storage(stack.settings.storage, stack.settings.base_url)))
    assert marker is not None and marker.layout == LAYOUT_VERSION and name in marker.migrations

    # Applied once: a second run does nothing.
    assert "no migration pending" in _run(stack, _runner(name, "plan"))
    _run(stack, _runner(name, "run"))
    assert sum(Counter(e["item"] for e in db[EFFECTS].find({"migration": name})).values()) == sum(
        effects.values()
    )


def test_imgpipe_migrate_dry_run_reports_and_changes_nothing(
    stack: RunningStack, mongo: MongoClient[Document]
) -> None:
    layout = mongo[stack.settings.mongodb_database][LAYOUT.name]
    newer = applied_id("9999-of-a-newer-release")
    layout.insert_one(
        {"_id": newer, "layout": LAYOUT_VERSION + 1, "items": 0, "applied_at": datetime.now(UTC)}
    )
    try:
        before = _what_a_migration_touches(mongo, stack, "none")
        report = _run(stack, [str(IMGPIPE_COMMAND), "migrate", "--dry-run"])
        assert f"this release writes layout {LAYOUT_VERSION}" in report
        assert "applied by a newer release, unknown to this one: 9999-of-a-newer-release" in report
        assert "no migration pending" in report
        assert _what_a_migration_touches(mongo, stack, "none") == before
        assert "no migration pending" in _run(stack, [str(IMGPIPE_COMMAND), "migrate"])
    finally:
        layout.delete_one({"_id": newer})
