"""The read models on the real PostgreSQL: reads outlive connections the server closed, and
a rebuild takes its locks so that readers and the rebuild never deadlock."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import pytest

from jam.application import JamApplication
from jam.settings import Settings
from projections import db, queries
from projections.db import PostgresViews
from tests.projections.busy import play
from tests.projections.conftest import dump, runner_for
from tests.projections.locks import Reader, reading
from tests.services import drop_schema, fresh_schema
from tests.stories import open_jam


@pytest.fixture
def store() -> Iterator[tuple[str, str]]:
    url, schema = fresh_schema()
    try:
        yield url, schema
    finally:
        drop_schema(url, schema)


@pytest.fixture
def views(store) -> Iterator[PostgresViews]:
    opened = PostgresViews(*store)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def app(store, clock) -> Iterator[JamApplication]:
    url, schema = store
    application = JamApplication(Settings(database_url=url, database_schema=schema), clock=clock)
    try:
        yield application
    finally:
        application.close()


def _pooled_backends(views: PostgresViews, n: int) -> list[int]:
    """The server processes of `n` pooled connections (held at once, so all different)."""
    with contextlib.ExitStack() as stack:
        reads = [stack.enter_context(views.reading()) for _ in range(n)]
        return [cur.execute("SELECT pg_backend_pid()").fetchone()[0] for cur in reads]


def _terminate(url: str, pids: list[int]) -> None:
    """What an operator's `pg_terminate_backend` (or a server restart) does to them."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        # The server ends them at once; wait until they are gone before reading on.
        while conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
        ).fetchone():
            conn.execute("SELECT pg_sleep(0.01)")


def test_reads_on_pooled_connections_the_server_closed_are_begun_again_on_fresh_ones(
    store, views, app, clock
):
    url, _ = store
    runner = runner_for(app, views)
    scene = open_jam(app, clock)
    runner.catch_up()
    dead = _pooled_backends(views, 4)
    _terminate(url, dead)
    for _ in range(8):  # more reads than there were dead connections in the pool
        with views.reading() as cur:
            assert queries.position(cur) == app.position()
            assert cur.execute("SELECT pg_backend_pid()").fetchone()[0] not in dead
            assert queries.jam_info(cur, str(scene.jam_id)) is not None


def test_a_read_that_lost_its_connection_after_it_began_fails_rather_than_reads_twice(store, views):
    url, _ = store
    ran: list[int] = []

    def read() -> None:
        with views.reading() as cur:
            pid = cur.execute("SELECT pg_backend_pid()").fetchone()[0]
            ran.append(pid)
            _terminate(url, [pid])
            cur.execute("SELECT 1")

    with pytest.raises(psycopg.OperationalError):
        read()
    assert len(ran) == 1  # the caller's work is not run again behind its back
    with views.reading() as cur:  # and the next read has a working connection
        assert cur.execute("SELECT 1").fetchone() == (1,)


def test_a_rebuild_and_a_reader_joining_tables_in_another_order_do_not_deadlock(
    store, views, app, clock
):
    # The reader holds rm_comments and asks for rm_ideas; a rebuild that locked rm_ideas
    # (dropping its indexes) and waited for rm_comments would wait for the reader that
    # waits for it. The rebuild gives way instead, and tries again: both get through.
    url, schema = store
    play(open_jam(app, clock))
    runner_for(app, views).catch_up()
    reader = Reader(url, schema, first="rm_comments", then="rm_ideas")
    reader.start()
    rebuilt = runner_for(app, views).rebuild()
    reader.join()
    assert reader.error is None
    assert reader.rows == 4  # the rows as the reader's snapshot had them
    assert rebuilt == app.position()
    fresh = PostgresViews(*fresh_schema())
    try:
        runner_for(app, fresh).rebuild()
        assert dump(views) == dump(fresh)
    finally:
        fresh.close()
        drop_schema(url, fresh.schema)


def test_a_rebuild_kept_from_its_locks_gives_up_leaving_the_read_models_as_they_were(
    store, views, app, clock, monkeypatch
):
    monkeypatch.setattr(db, "LOCK_GIVE_UP_S", 0.3, raising=False)  # (older code had none)
    url, schema = store
    play(open_jam(app, clock))
    runner_for(app, views).catch_up()
    before = dump(views)
    long_read = reading(url, schema, "rm_votes")
    try:
        with pytest.raises(psycopg.errors.LockNotAvailable):
            runner_for(app, views).rebuild()
        assert dump(views) == before  # nothing emptied, no rebuild mark left behind
    finally:
        long_read.close()
    assert runner_for(app, views).rebuild() == app.position()
    assert dump(views) == before
