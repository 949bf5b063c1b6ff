"""Kill -9 the projection process under load: it resumes, and the read models equal a rebuild."""

from __future__ import annotations

import signal
import threading
from uuid import uuid4

import pytest

from jam import commands as c
from projections import queries
from projections.db import PostgresViews
from tests.projections.conftest import dump, runner_for
from tests.reliability.checks import Now
from tests.reliability.processes import start_projections, wait_until
from tests.services import drop_schema, fresh_schema
from tests.stories import open_jam

pytestmark = pytest.mark.slow

KILLS = 3
WRITERS = 4


def _write_until(app, scene, people, stop: threading.Event, done: list[int]) -> None:
    """One participant's stream of ideas, comments and votes, straight into the log."""
    who = people.pop()
    idea = scene.post_idea(who)
    n = 0
    while not stop.is_set():
        if n % 3 == 0:
            command: c.Command = c.PostComment(
                actor=who, comment_id=uuid4(), idea_id=idea, body=f"Note {n}"
            )
        elif n % 3 == 1:
            command = c.CastVote(actor=who, idea_id=idea, value=(1, -1)[n % 2])
        else:
            idea = scene.post_idea(who, title=f"Idea {n}")
            n += 1
            continue
        done.append(app.handle(command).position)
        n += 1


def _tracked(views: PostgresViews) -> int:
    with views.reading() as cur:
        return queries.position(cur)


def test_a_projection_process_killed_under_load_resumes_and_equals_a_rebuild(
    shared_store, writer_app
):
    url, schema = shared_store
    scene = open_jam(writer_app, Now())  # type: ignore[arg-type]
    people = [scene.join(name=f"P{i}") for i in range(WRITERS)]
    stop = threading.Event()
    positions: list[int] = []
    writers = [
        threading.Thread(target=_write_until, args=(writer_app, scene, people, stop, positions))
        for _ in range(WRITERS)
    ]
    _, views_schema = fresh_schema()
    views = PostgresViews(url, views_schema)
    rebuilt_views = None
    resumed_from = []
    try:
        for w in writers:
            w.start()
        for _ in range(KILLS):
            proc = start_projections(url, schema, views_schema)
            first = proc.stdout.readline().split()
            assert first[0] == "START"
            resumed_from.append(int(first[1]))
            for _ in range(3):  # a few pages in, while the writers keep writing
                assert proc.stdout.readline().startswith("AT")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        stop.set()
        for w in writers:
            w.join()
        end = writer_app.position()
        proc = start_projections(url, schema, views_schema)
        assert proc.stdout.readline().startswith("START")
        # The last process follows to the end of the log (a log position to wait for).
        wait_until(lambda: _tracked(views) >= end, f"the read models to reach {end}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()

        _, rebuilt_schema = fresh_schema()
        rebuilt_views = PostgresViews(url, rebuilt_schema)
        assert runner_for(writer_app, rebuilt_views).rebuild() == end
        assert dump(views) == dump(rebuilt_views)
    finally:
        stop.set()
        views.close()
        drop_schema(url, views_schema)
        if rebuilt_views is not None:
            rebuilt_views.close()
            drop_schema(url, rebuilt_views.schema)
    # Each restart resumed from where the killed process had committed, not from 0.
    assert resumed_from[0] == 0
    assert all(p > 0 for p in resumed_from[1:])
    assert resumed_from == sorted(resumed_from)
    print(
        f"\nprojection kill: {KILLS} kills under load, {len(positions)} writes, log end {end}, "
        f"resumed from {resumed_from}; read models equal a rebuild"
    )
