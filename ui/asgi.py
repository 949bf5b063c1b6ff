"""The ASGI app for process-per-worker servers, configured from OPENJAM_* variables."""

from ui.app import create_app

app = create_app()
