"""The litestar app factory."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.concurrency import sync_to_thread
from litestar.config.csrf import CSRFConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from jam.application import JamApplication
from jam.settings import Settings
from projections.metrics import observe_cluster_refresh
from projections.projector import Update
from ui.auth import SESSION_COOKIE, rate_limit_key, secret_key, signed_in_now, signs_in
from ui.bootstrap import build
from ui.comments import CommentController
from ui.errors import JamRequest
from ui.headers import security_headers
from ui.health import health, ready
from ui.ideas import IdeaController
from ui.jams import JamController
from ui.leadership import LeadershipController
from ui.limits import limit_writes, write_counter
from ui.live import Publisher, channels_plugin, idea_stream, jam_stream, publish_feed
from ui.me import MeController
from ui.metrics import forget_this_process, metrics, observe
from ui.navigate import form_answers
from ui.notices import shown_notice
from ui.openapi import DescribedJson, DescribedYaml
from ui.page_errors import APP_EXCEPTION_HANDLERS, NOT_PAGES
from ui.pages import PagesController
from ui.participants import ParticipantController
from ui.reads import follow_projection
from ui.sessions import SessionController, following_ended_sessions
from ui.topics import DuplicateController, TopicController
from ui.wording import counted

TEMPLATES = Path(__file__).parent / "templates"


def _template_helpers(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals.update(shown_notice=shown_notice)
    engine.engine.filters.update(counted=counted)


STATIC = Path(__file__).parent / "static"


MAX_BODY_BYTES = 64 * 1024  # ideas are at most 5,000 characters; nothing needs more


def create_app(settings: Settings | None = None, jam: JamApplication | None = None) -> Litestar:
    """Build the web app; `jam` lets tests pass an application they already hold."""
    settings = settings or Settings.from_env()
    channels = channels_plugin(settings.redis_url)

    key = secret_key(settings)

    @asynccontextmanager
    async def lifespan(server: Litestar) -> AsyncIterator[None]:
        server.state.secret = key
        # With an external projection worker this worker only watches the read models.
        watch_only = settings.external_projections
        services = await sync_to_thread(build, settings, jam=jam, watch_only=watch_only)
        publisher = Publisher(channels, asyncio.get_running_loop())
        cached = follow_projection(services)

        def applied(updates: list[Update]) -> None:
            cached(updates)  # first: a client told of a change must not read the old body
            publisher(updates)

        services.runner.on_updates(applied)
        await sync_to_thread(services.runner.start)
        if settings.redis_url and not watch_only:
            # Several workers project: one killed between a commit and its publish left
            # updates that clients connected to the others would never hear of.
            await sync_to_thread(publish_feed, services.views, publisher, None)
        if services.ranking is not None:
            services.ranking.on_updates(publisher)
            services.ranking.on_refreshed(observe_cluster_refresh)
            services.ranking.start()
        server.state.services = services
        try:
            async with following_ended_sessions(key, services.jam):
                yield
        finally:
            await sync_to_thread(services.close)
            forget_this_process()
            await counter.close()

    counter = write_counter(settings.redis_url)
    rate_limit = limit_writes(
        settings.writes_per_minute,
        rate_limit_key,
        counter,
        exclude=("/health", "/ready", "/metrics"),
        max_body=MAX_BODY_BYTES,
        refusals_only=signs_in,
        succeeded=signed_in_now,
    )
    return Litestar(
        route_handlers=[
            create_static_files_router(
                path="/static", directories=[STATIC], include_in_schema=False
            ),
            health,
            ready,
            metrics,
            PagesController,
            jam_stream,
            idea_stream,
            SessionController,
            TopicController,
            DuplicateController,
            JamController,
            IdeaController,
            CommentController,
            ParticipantController,
            MeController,
            LeadershipController,
        ],
        lifespan=[lifespan],
        plugins=[channels],
        middleware=[form_answers, observe, security_headers, rate_limit],
        # Forms on our pages carry a token; the JSON API authenticates differently.
        csrf_config=CSRFConfig(
            secret=hashlib.sha256(b"csrf:" + key).hexdigest(),
            cookie_name="openjam_csrf",
            cookie_httponly=True,
            cookie_secure=settings.secure_cookies,
            exclude=list(NOT_PAGES),
        ),
        request_max_body_size=MAX_BODY_BYTES,
        request_class=JamRequest,
        exception_handlers=APP_EXCEPTION_HANDLERS,
        # Logging is the process's (jam/logs.py), litestar's records included. Not litestar's
        # LoggingConfig: its dictConfig closes every handler there is, the access log's
        # buffered one too, whose lines then were written only at exit.
        logging_config=None,
        template_config=TemplateConfig(
            directory=TEMPLATES,
            engine=JinjaTemplateEngine,
            engine_callback=_template_helpers,
        ),
        # The description itself, JSON or YAML: litestar's HTML viewers load their script
        # from a CDN, which the Content-Security-Policy (rightly) blocks.
        openapi_config=OpenAPIConfig(
            title="OpenJam",
            version="0.1.0",
            path="/schema",
            # How a client signs its requests: the session's token, or its cookie (pages).
            components=Components(
                security_schemes={
                    "session": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="the token of POST /api/session (or its personal-code form)",
                    ),
                    "cookie": SecurityScheme(
                        type="apiKey",
                        name=SESSION_COOKIE,
                        security_scheme_in="cookie",
                        description="the same session as an HttpOnly cookie; writes send JSON",
                    ),
                }
            ),
            security=[{"session": []}, {"cookie": []}],
            render_plugins=[
                DescribedJson(path=["/", "/openapi.json"]),
                DescribedYaml(path=["/openapi.yaml", "/openapi.yml"]),
            ],
        ),
    )
