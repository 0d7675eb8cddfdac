"""`python -m gateway`: serve the API with uvicorn on IMGPIPE_HOST:IMGPIPE_PORT."""

import uvicorn

from gateway.app import create_app
from imgpipe.logs import configure_logging
from imgpipe.settings import get_settings

settings = get_settings()
configure_logging(settings)
uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)
