"""Running the web app with uvicorn, in one process or several."""

from __future__ import annotations

import os

import uvicorn

from jam.settings import PREFIX, Settings
from ui.app import create_app


class ServeError(ValueError):
    """The requested way of serving cannot work; the message says why."""


def serve(settings: Settings, workers: int = 1) -> None:
    if workers == 1:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
        return
    if not settings.redis_url:
        # Each worker projects and publishes on its own; only Redis carries one
        # worker's live updates to the clients of the others.
        raise ServeError(f"{workers} workers need {PREFIX}REDIS_URL for live updates between them")
    # Workers are separate processes: they read their settings from the environment.
    os.environ[f"{PREFIX}HOST"], os.environ[f"{PREFIX}PORT"] = settings.host, str(settings.port)
    uvicorn.run(
        "ui.asgi:app", host=settings.host, port=settings.port, workers=workers, log_level="info"
    )
