"""`imgpipe migrate [--dry-run]`: apply the stored layout's pending migrations, or say what they would do.

Imported only when asked for, like the services (cli/services.py): the client commands never load
the database driver.
"""

from __future__ import annotations

from imgpipe.runtime.logs import configure_logging
from imgpipe.state.migration_runner import migrate, migration_plan
from imgpipe.state.migrations import MIGRATIONS
from imgpipe.storage.startup import settings_for_service


def run_migrate(dry_run: bool) -> int:
    settings = settings_for_service("migrate")
    configure_logging(settings.log_level)  # each step is logged, on stderr
    if dry_run:
        for line in migration_plan(settings, MIGRATIONS):
            print(line)
        return 0
    applied = migrate(settings, MIGRATIONS, "migrate")
    print(f"applied: {', '.join(applied)}" if applied else "no migration pending")
    return 0
