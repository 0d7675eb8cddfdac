"""`python -m processors`: run one processor worker (start as many as you like)."""

import faust

from imgpipe.logs import configure_logging
from processors.app import app, settings

configure_logging(settings)
faust.Worker(app, loglevel=settings.log_level, override_logging=False, quiet=True).execute_from_commandline()
