"""Running the web app with uvicorn."""

from __future__ import annotations

import uvicorn

from jam.settings import Settings
from ui.app import create_app


def serve(settings: Settings) -> None:
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
