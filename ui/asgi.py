"""The ASGI app for process-per-worker servers, configured from OPENJAM_* variables."""

from jam.logs import configure_logging
from jam.settings import Settings
from ui.app import create_app
from ui.server import share_the_interpreter

settings = Settings.from_env()
configure_logging(settings, buffered=True)  # each worker logs as the server was told to
share_the_interpreter()
app = create_app(settings)
