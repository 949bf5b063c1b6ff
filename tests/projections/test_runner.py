"""Following the log: exactly once, in order, rebuildable, resumable after a crash."""

from __future__ import annotations

import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest

from jam import commands as c
from projections import queries
from tests.projections.busy import play
from tests.projections.conftest import dump, runner_for
from tests.stories import open_jam

ROOT = Path(__file__).resolve().parents[2]


def _votes_and_comments(scene, busy, n: int) -> list[c.Command]:
    people = list(busy.people.values())[:4]
    ideas = [busy.ideas["week"], busy.ideas["clinic"], busy.ideas["week2"]]
    cmds: list[c.Command] = []
    for i in range(n):
        who, idea = people[i % 4], ideas[i % 3]
        if i % 3 == 0:
            cmds.append(
                c.PostComment(actor=who, comment_id=uuid4(), idea_id=idea, body=f"Note {i}")
            )
        else:
            cmds.append(c.CastVote(actor=who, idea_id=idea, value=(1, -1, 0)[i % 3]))
    return cmds


def test_a_rebuild_equals_the_incrementally_built_views_row_for_row(app, clock, make_views):
    scene = open_jam(app, clock)
    busy = play(scene)
    live = runner_for(app, make_views(), page_size=5)
    live.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            done = list(pool.map(app.handle, _votes_and_comments(scene, busy, 120)))
        assert live.wait_for(max(d.position for d in done), timeout=10)
    finally:
        live.stop()
    rebuilt = runner_for(app, make_views(), page_size=1000)
    assert rebuilt.rebuild() == live.position == app.position()
    assert dump(rebuilt.views) == dump(live.views)
    # Rebuilding in place gives the same rows again.
    live.rebuild()
    assert dump(live.views) == dump(rebuilt.views)


def test_following_applies_new_events_and_read_your_writes_waits_for_a_position(
    app, clock, make_views
):
    scene = open_jam(app, clock)
    ada = scene.join()
    runner = runner_for(app, make_views())
    published = []
    runner._on_updates = published.extend
    runner.start()
    try:
        done = app.handle(
            c.PostIdea(
                actor=ada, jam_id=scene.jam_id, idea_id=uuid4(), forum="health", title="T", body="B"
            )
        )
        assert runner.wait_for(done.position, timeout=5)
        with runner.views.reading() as cur:
            assert queries.thread(cur, str(done.id)).idea.title == "T"
            assert queries.position(cur) >= done.position
        assert [u.kind for u in published if u.item_id == str(done.id)] == ["idea"]
        assert not runner.wait_for(done.position + 1000, timeout=0.05)
    finally:
        runner.stop()


def test_restarting_resumes_where_it_stopped_without_applying_anything_twice(
    app, clock, make_views
):
    scene = open_jam(app, clock)
    play(scene)
    views = make_views()
    first = runner_for(app, views, page_size=4)
    first.catch_up()
    middle = first.position
    for cmd in _votes_and_comments(scene, play(scene), 30):
        app.handle(cmd)
    second = runner_for(app, views, page_size=4)
    assert second.position == middle
    assert second.catch_up() == app.position()
    rebuilt = runner_for(app, make_views())
    rebuilt.rebuild()
    assert dump(views) == dump(rebuilt.views)


@pytest.mark.slow
def test_a_projection_killed_mid_stream_resumes_and_matches_a_rebuild(
    settings, app, clock, make_views
):
    scene = open_jam(app, clock)
    busy = play(scene)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(app.handle, _votes_and_comments(scene, busy, 600)))
    views = make_views()
    if settings.uses_postgres:
        args = [
            "--database-url",
            settings.database_url,
            "--schema",
            settings.database_schema,
            "--views-schema",
            views.schema,
        ]
    else:
        args = ["--data-dir", str(settings.data_dir), "--views", str(views.path)]
    command = [sys.executable, "-m", "tests.projections.worker", *args]

    held = [*command, "--hold-after", "5"]
    proc = subprocess.Popen(
        held, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().startswith("START 0")
    for _ in range(5):
        assert proc.stdout.readline().startswith("AT")
    proc.send_signal(signal.SIGKILL)  # in the middle of the stream, five pages in
    proc.wait()

    restarted = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    started_at = int(restarted.stdout.splitlines()[0].split()[1])
    assert 0 < started_at < app.position()
    assert restarted.stdout.splitlines()[-1] == f"DONE {app.position()}"

    rebuilt = runner_for(app, make_views())
    rebuilt.rebuild()
    assert dump(views) == dump(rebuilt.views)


def test_the_live_feed_keeps_a_bounded_history_the_same_way_when_rebuilt(app, clock, make_views):
    scene = open_jam(app, clock)
    busy = play(scene)
    live = runner_for(app, make_views(), page_size=3)
    live._projector.feed_retention = 10
    live.catch_up()
    for cmd in _votes_and_comments(scene, busy, 30):
        app.handle(cmd)
    live.catch_up()
    end = app.position()
    with live.views.reading() as cur:
        kept = cur.execute("SELECT MIN(position), MAX(position) FROM rm_updates").fetchone()
        assert queries.feed_floor(cur, 10) == end - 10
    assert kept[0] > end - 10
    assert kept[1] == end
    rebuilt = runner_for(app, make_views())
    rebuilt._projector.feed_retention = 10
    rebuilt.rebuild()
    assert dump(rebuilt.views) == dump(live.views)


def test_a_rebuild_while_another_runner_follows_leaves_the_views_complete(app, clock, make_views):
    scene = open_jam(app, clock)
    busy = play(scene)
    views = make_views()
    follower = runner_for(app, views, page_size=5)
    follower.start()
    rebuilder = runner_for(app, views, page_size=7)
    writes = _votes_and_comments(scene, busy, 90)
    try:
        with ThreadPoolExecutor(1) as pool:
            writing = pool.submit(lambda: [app.handle(cmd) for cmd in writes])
            rebuilder.rebuild()
            writing.result()
        assert follower.wait_for(app.position(), timeout=10)
    finally:
        follower.stop()
    assert follower.error is None
    fresh = runner_for(app, make_views())
    fresh.rebuild()
    assert dump(views) == dump(fresh.views)
