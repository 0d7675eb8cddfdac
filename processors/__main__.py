"""`python -m processors`: run one processor worker (start as many as you like)."""

from imgpipe.faust_worker import run_worker
from processors.app import app, settings

run_worker(app, settings)
