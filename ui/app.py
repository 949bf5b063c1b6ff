"""The litestar app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.config.response_cache import ResponseCacheConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from litestar.template.config import TemplateConfig

from jam.application import JamApplication
from jam.errors import StoreUnavailable
from jam.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"


class Health(msgspec.Struct):
    status: str
    store: str
    position: int


def _store_name(settings: Settings) -> str:
    return "postgresql" if settings.uses_postgres else "sqlite"


@get("/health", sync_to_thread=True, summary="Is the service up and its event store reachable?")
def health(state: State) -> Response[Health]:
    app: JamApplication = state.jam
    try:
        position = app.position()
    except Exception as exc:  # any store failure means "not healthy"
        body = Health(
            status=f"unavailable: {type(exc).__name__}",
            store=_store_name(app.settings),
            position=-1,
        )
        return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response(Health(status="ok", store=_store_name(app.settings), position=position))


@get("/", sync_to_thread=True, include_in_schema=False)
def index(state: State, request: Request[Any, Any, Any]) -> Template:
    app: JamApplication = state.jam
    return Template(
        "index.html", context={"position": app.position(), "store": _store_name(app.settings)}
    )


def _unavailable(
    request: Request[Any, Any, Any], exc: StoreUnavailable
) -> Response[dict[str, str]]:
    return Response(
        {"error": exc.code, "detail": str(exc)},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "2"},
    )


def create_app(settings: Settings | None = None, jam: JamApplication | None = None) -> Litestar:
    """Build the web app; `jam` lets tests pass an application they already hold."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(server: Litestar) -> AsyncIterator[None]:
        owned = jam is None
        server.state.jam = jam or JamApplication(settings)
        try:
            yield
        finally:
            if owned:
                server.state.jam.close()

    return Litestar(
        route_handlers=[health, index],
        lifespan=[lifespan],
        exception_handlers={StoreUnavailable: _unavailable},
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(title="OpenJam", version="0.1.0", path="/schema"),
        response_cache_config=ResponseCacheConfig(),
    )
