"""The composition root: the application, the read models and their projection."""

from __future__ import annotations

from dataclasses import dataclass

from jam.application import JamApplication
from jam.clock import Clock, system_clock
from jam.settings import Settings
from projections.db import ViewDatabase, open_views
from projections.projector import Projector
from projections.runner import ProjectionRunner


@dataclass
class Services:
    settings: Settings
    jam: JamApplication
    views: ViewDatabase
    projector: Projector
    runner: ProjectionRunner
    owns_jam: bool = True

    def close(self) -> None:
        self.runner.stop()
        self.views.close()
        if self.owns_jam:
            self.jam.close()


def build(
    settings: Settings, *, jam: JamApplication | None = None, clock: Clock = system_clock
) -> Services:
    app = jam or JamApplication(settings, clock=clock)
    views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
    projector = Projector(
        app.mapper.transcoder.decode_for_views,  # type: ignore[attr-defined]
        feed_retention=settings.feed_retention,
    )
    runner = ProjectionRunner(app.recorder, views, projector)
    return Services(settings, app, views, projector, runner, owns_jam=jam is None)
