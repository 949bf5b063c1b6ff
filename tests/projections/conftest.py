from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from jam.application import JamApplication
from jam.settings import Settings
from projections.db import PostgresViews, SQLiteViews, ViewDatabase
from projections.projector import Projector
from projections.runner import ProjectionRunner
from tests.services import drop_schema, fresh_schema

MakeViews = Callable[[], ViewDatabase]


@pytest.fixture
def make_views(settings: Settings, tmp_path) -> Iterator[MakeViews]:
    """Fresh, empty read-model databases on the store under test."""
    made: list[ViewDatabase] = []
    schemas: list[tuple[str, str]] = []

    def make() -> ViewDatabase:
        if settings.uses_postgres:
            url, schema = fresh_schema()
            schemas.append((url, schema))
            views: ViewDatabase = PostgresViews(url, schema)
        else:
            views = SQLiteViews(tmp_path / f"views-{len(made)}.sqlite3")
        made.append(views)
        return views

    yield make
    for views in made:
        views.close()
    for url, schema in schemas:
        drop_schema(url, schema)


def runner_for(app: JamApplication, views: ViewDatabase, **kwargs) -> ProjectionRunner:
    return ProjectionRunner(
        app.recorder, views, Projector(app.mapper.transcoder.views_decoder), **kwargs
    )


def dump(views: ViewDatabase) -> dict[str, list[tuple]]:
    """Every read-model table, every row, in a stable order; but how many rebuilds the
    database has seen, which says nothing of what the log holds."""
    from projections.runner import REBUILT_COUNT
    from projections.schema import TABLES

    tables = {}
    with views.reading() as cur:
        for name in TABLES:
            rows = [tuple(r) for r in cur.execute(f"SELECT * FROM {name}").fetchall()]
            if name == "rm_tracking":
                rows = [r for r in rows if r[0] != REBUILT_COUNT]
            tables[name] = sorted(rows)
    return tables
