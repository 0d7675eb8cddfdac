"""The database commands a test stack's services sent, as they logged them.

The test stack runs every service with IMGPIPE_LOG_DATABASE_COMMANDS on, so each command's name,
collection and filter shape is a line in the service's log (imgpipe/state/command_shapes.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from devstack.paths import StackPaths

LogPositions = dict[Path, int]


def log_positions(paths: StackPaths) -> LogPositions:
    """Where each service log ends now: commands logged later are read from there."""
    return {log: log.stat().st_size for log in paths.logs.glob("*.log")}


def logged_commands(paths: StackPaths, since: LogPositions | None = None) -> list[dict[str, object]]:
    """Every command logged (after `since`), each with the service that sent it and the request it
    was sent for (None outside one). The stack is shared: while a test's request runs, the
    aggregator may repair another test's, and the processors work on its rows."""
    commands = []
    for log in sorted(paths.logs.glob("*.log")):
        with log.open("rb") as file:
            file.seek((since or {}).get(log, 0))
            text = file.read().decode(errors="replace")
        for line in text.splitlines():
            if '"imgpipe.database.commands"' not in line:
                continue
            record = json.loads(line)
            commands.append(
                {**json.loads(record["message"]), "service": log.stem, "request_id": record.get("request_id")}
            )
    return commands
