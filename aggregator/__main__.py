"""`python -m aggregator`: run the aggregator worker."""

import faust

from aggregator.app import app, settings
from imgpipe.logs import configure_logging

configure_logging(settings)
faust.Worker(app, loglevel=settings.log_level, override_logging=False, quiet=True).execute_from_commandline()
