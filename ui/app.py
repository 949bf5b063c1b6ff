"""The litestar app factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
from litestar import Litestar, Response, get
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from litestar.template.config import TemplateConfig

from jam.application import JamApplication
from jam.errors import StoreUnavailable
from jam.settings import Settings
from ui.bootstrap import build
from ui.errors import EXCEPTION_HANDLERS
from ui.live import Publisher, channels_plugin, idea_stream, jam_stream
from ui.reads import ReadController

TEMPLATES = Path(__file__).parent / "templates"


class Health(msgspec.Struct):
    status: str
    store: str
    position: int


def _store_name(settings: Settings) -> str:
    return "postgresql" if settings.uses_postgres else "sqlite"


@get("/health", sync_to_thread=True, summary="Is the service up and its event store reachable?")
def health(state: State) -> Response[Health]:
    app: JamApplication = state.services.jam
    try:
        position = app.position()
    except StoreUnavailable as exc:
        body = Health(
            status=f"unavailable: {type(exc.__cause__).__name__}",
            store=_store_name(app.settings),
            position=-1,
        )
        return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response(Health(status="ok", store=_store_name(app.settings), position=position))


@get("/", sync_to_thread=True, include_in_schema=False)
def index(state: State) -> Template:
    app: JamApplication = state.services.jam
    return Template(
        "index.html", context={"position": app.position(), "store": _store_name(app.settings)}
    )


def create_app(settings: Settings | None = None, jam: JamApplication | None = None) -> Litestar:
    """Build the web app; `jam` lets tests pass an application they already hold."""
    settings = settings or Settings.from_env()
    channels = channels_plugin(settings.redis_url)

    @asynccontextmanager
    async def lifespan(server: Litestar) -> AsyncIterator[None]:
        services = await sync_to_thread(build, settings, jam=jam)
        services.runner.on_updates(Publisher(channels, asyncio.get_running_loop()))
        await sync_to_thread(services.runner.start)
        server.state.services = services
        try:
            yield
        finally:
            await sync_to_thread(services.close)

    return Litestar(
        route_handlers=[health, index, ReadController, jam_stream, idea_stream],
        lifespan=[lifespan],
        plugins=[channels],
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(title="OpenJam", version="0.1.0", path="/schema"),
    )
