"""One log format for every service: timestamp, level, logger, message, on stderr."""

from __future__ import annotations

import logging

from imgpipe.settings import Settings


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
