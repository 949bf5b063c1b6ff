"""The composition root: the application, the read models and their projection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from jam.application import JamApplication
from jam.clock import Clock, system_clock
from jam.settings import Settings
from projections import ranking_views
from projections.db import ViewDatabase, open_views
from projections.projector import Projector, Update
from projections.ranking_worker import RankingWorker
from projections.runner import ProjectionRunner
from projections.similar_ideas import SimilarIdeas
from projections.watch import ProjectionWatch, projected_channel
from ranking.engine import RankingEngine, default_engine, similarity_vectorizer
from ui.cache import IdeaJams, KnownJams, ReadCache, Roles


@dataclass
class Services:
    settings: Settings
    jam: JamApplication
    views: ViewDatabase
    projector: Projector
    # A web worker whose read models another process projects only watches them.
    runner: ProjectionRunner | ProjectionWatch
    engine: RankingEngine
    similar: SimilarIdeas
    ranking: RankingWorker | None = None  # None when `jam worker ranking` runs it elsewhere
    owns_jam: bool = True
    cache: ReadCache = field(default_factory=lambda: ReadCache(0, 1))
    roles: Roles = field(default_factory=Roles)
    idea_jams: IdeaJams = field(default_factory=IdeaJams)
    known_jams: KnownJams = field(default_factory=KnownJams)

    def close(self) -> None:
        if self.ranking is not None:
            self.ranking.stop()
        self.runner.stop()
        self.views.close()
        if self.owns_jam:
            self.jam.close()


def build(
    settings: Settings,
    *,
    jam: JamApplication | None = None,
    clock: Clock = system_clock,
    watch_only: bool = False,
) -> Services:
    app = jam or JamApplication(settings, clock=clock)
    views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
    projector = Projector(
        app.mapper.transcoder.views_decoder,  # type: ignore[attr-defined]
        feed_retention=settings.feed_retention,
    )
    runner: ProjectionRunner | ProjectionWatch
    if watch_only and settings.redis_url:
        channel = projected_channel(settings.database_schema)
        runner = ProjectionWatch(views, settings.redis_url, channel)
    else:
        runner = ProjectionRunner(app.recorder, views, projector)
    engine = default_engine()
    similar = SimilarIdeas(views, similarity_vectorizer().transform)
    ranking: RankingWorker | None = None
    if settings.ranking == "inline":
        ranking = ranking_worker(settings, app, views, engine)
    else:
        with views.transaction() as cur:  # the tables the pages read, before any refresh
            views.lock_projection(cur)  # processes starting together take turns creating them
            ranking_views.prepare(cur)
    cache = ReadCache(int(settings.read_cache_mb * 2**20), settings.feed_retention)
    return Services(
        settings,
        app,
        views,
        projector,
        runner,
        engine,
        similar,
        ranking,
        owns_jam=jam is None,
        cache=cache,
    )


def ranking_worker(
    settings: Settings,
    app: JamApplication,
    views: ViewDatabase,
    engine: RankingEngine,
    on_refresh: Callable[[float], None] | None = None,
) -> RankingWorker:
    return RankingWorker(
        app.recorder,
        views,
        app.mapper.transcoder.decode,
        engine,
        refresh_s=settings.topic_refresh_s,
        feed_retention=settings.feed_retention,
        on_refresh=on_refresh,
    )


def run_ranking_worker(
    settings: Settings,
    stop: threading.Event,
    *,
    on_updates: Callable[[list[Update]], None] | None = None,
    on_refresh: Callable[[float], None] | None = None,
) -> None:
    """`jam worker ranking`: keep topics, duplicates and the ranking fresh until `stop`."""
    app = JamApplication(settings)
    views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
    try:
        worker = ranking_worker(settings, app, views, default_engine(), on_refresh)
        if on_updates is not None:
            worker.on_updates(on_updates)
        worker.run(stop)
    finally:
        views.close()
        app.close()
