"""Log the shape of every database command a service sends, to keep every hot access cheap.

FerretDB 1.24 on SQLite answers a filter of exactly `{"_id": <string or ObjectId>}` from its
primary key and decodes the whole collection for any other (imgpipe/state/database.py). With
`IMGPIPE_LOG_DATABASE_COMMANDS` on, each command is logged (logger `imgpipe.database.commands`)
as its name, its collection and the shape of its filters: the keys, with each value replaced by
its type name. A test reads these lines while a request goes from upload to completion, so that
a query bringing back a collection scan fails it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pymongo.monitoring import CommandFailedEvent, CommandListener, CommandStartedEvent, CommandSucceededEvent

logger = logging.getLogger("imgpipe.database.commands")

# Where each data command carries its filters (its collection is under the command's own name).
_FILTERS: dict[str, Callable[[Mapping[str, Any]], list[Any]]] = {
    "find": lambda command: [command.get("filter", {})],
    "update": lambda command: [update["q"] for update in command.get("updates", [])],
    "delete": lambda command: [delete["q"] for delete in command.get("deletes", [])],
    "count": lambda command: [command.get("query", {})],
    "findAndModify": lambda command: [command.get("query", {})],
    "aggregate": lambda command: [
        stage["$match"] for stage in command.get("pipeline", []) if "$match" in stage
    ],
    "insert": lambda command: [],
}


def shape(value: Any) -> Any:
    """`{"_id": "abc", "n": {"$gt": 3}}` → `{"_id": "str", "n": {"$gt": "int"}}`."""
    if isinstance(value, Mapping):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


class CommandShapeLogger(CommandListener):
    def started(self, event: CommandStartedEvent) -> None:
        filters = _FILTERS.get(event.command_name)
        if filters is None:
            return  # not a data command (handshakes, pings, cursor batches of a logged find)
        command = event.command
        line = {
            "command": event.command_name,
            "collection": command.get(event.command_name),
            "filters": [shape(filter_) for filter_ in filters(command)],
        }
        logger.info(json.dumps(line))

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass
