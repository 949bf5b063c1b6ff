"""Following the log: exactly once, in order, rebuildable, resumable after a crash."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest

from jam import commands as c
from projections import queries
from projections import runner as runner_module
from projections.pipeline import feed_between
from projections.schema import INDEXES, index_name
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


def _published_since(views, before: int, published: list) -> tuple[set, set]:
    """The read models' feed past `before`, and what of it was published."""
    with views.reading() as cur:
        feed = set(feed_between(cur, before, queries.position(cur)))
    return feed, feed & set(published)


def test_what_a_rebuild_projects_past_a_follower_reaches_its_live_updates(app, clock, make_views):
    # `jam projections rebuild` publishes nothing: writes the follower had not applied when
    # the rebuild began were projected by the rebuild, and the follower, resuming past
    # them, would never publish them (clients following live would miss them for good).
    scene = open_jam(app, clock)
    busy = play(scene)
    views = make_views()
    follower = runner_for(app, views, page_size=5)
    published: list = []
    follower.on_updates(published.extend)
    follower.catch_up()
    before = follower.position
    for cmd in _votes_and_comments(scene, busy, 12):  # acknowledged, not yet followed
        app.handle(cmd)
    rebuilt = runner_for(app, views).rebuild()  # done before the follower looks again
    follower.start()
    try:
        for cmd in _votes_and_comments(scene, busy, 6):
            app.handle(cmd)
        assert follower.wait_for(app.position(), timeout=10)
    finally:
        follower.stop()
    feed, sent = _published_since(views, before, published)
    assert any(u.position <= rebuilt for u in feed)
    assert sent == feed


class _Interrupted(BaseException):
    """A rebuild stopped halfway (as by kill -9): its mark stays."""


def _interrupt_rebuild(app, views) -> None:
    def killed(done: int, total: int) -> None:
        raise _Interrupted

    with pytest.raises(_Interrupted):
        runner_for(app, views, rebuild_page_size=4).rebuild(progress=killed)


class _Looks(threading.Event):
    """A runner's stop event that counts the pauses between its looks at a rebuild mark."""

    def __init__(self, looks: int) -> None:
        super().__init__()
        self.looked = threading.Event()  # set after `looks` pauses
        self._left = looks

    def wait(self, timeout: float | None = None) -> bool:
        if timeout == runner_module.REBUILD_POLL_S:
            self._left -= 1
            if self._left <= 0:
                self.looked.set()
        return super().wait(timeout)


def _looking(runner, looks: int = 10) -> threading.Event:
    """An event set once `runner` has looked at the rebuild mark `looks` times."""
    runner._stopping = _Looks(looks)
    return runner._stopping.looked


def test_a_follower_waits_for_a_rebuild_under_way_then_publishes_what_it_projected(
    app, clock, make_views, caplog, monkeypatch
):
    monkeypatch.setattr(runner_module, "REBUILD_POLL_S", 0.01)
    scene = open_jam(app, clock)
    busy = play(scene)
    views = make_views()
    follower = runner_for(app, views, page_size=5)
    published: list = []
    follower.on_updates(published.extend)
    follower.catch_up()
    before = follower.position
    for cmd in _votes_and_comments(scene, busy, 12):
        app.handle(cmd)
    started: list[int] = []

    def halfway(done: int, total: int) -> None:
        if not started:  # the rebuild has marked the read models and written a page
            started.append(done)
            looked = _looking(follower)
            follower.start()  # finds the mark: waits, looking again and again
            assert looked.wait(10), "the follower did not wait for the rebuild"

    try:
        with caplog.at_level(logging.INFO, logger="projections.runner"):
            assert runner_for(app, views, rebuild_page_size=4).rebuild(progress=halfway)
            assert follower.wait_for(app.position(), timeout=10)
            app.handle(_votes_and_comments(scene, busy, 1)[0])
            assert follower.wait_for(app.position(), timeout=10)
    finally:
        follower.stop()
    assert 0 < started[0] < app.position()
    assert follower.error is None
    feed, sent = _published_since(views, before, published)
    assert sent == feed
    said = [r for r in caplog.records if r.name == "projections.runner"]
    assert [r.levelno for r in said] == [logging.WARNING, logging.INFO]  # once, not per look
    assert "rebuilt" in said[1].getMessage()
    assert not follower.waiting_for_rebuild


def test_a_runner_finding_an_interrupted_rebuild_says_so_once_and_resumes_after_a_new_one(
    app, clock, make_views, caplog, monkeypatch
):
    monkeypatch.setattr(runner_module, "REBUILD_POLL_S", 0.01)
    scene = open_jam(app, clock)
    play(scene)
    views = make_views()
    _interrupt_rebuild(app, views)
    follower = runner_for(app, views)
    with caplog.at_level(logging.WARNING, logger="projections.runner"):
        looked = _looking(follower)
        follower.start()
        try:
            assert looked.wait(10), "the follower did not look for the rebuild's end"
            warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warned) == 1  # many looks at the mark, one warning
            assert "interrupted and must be run again" in warned[0]
            runner_for(app, views).rebuild()  # run again: nothing else was written meanwhile
            assert follower.wait_for(app.position(), timeout=10)
        finally:
            follower.stop()
    assert not follower.rebuild_marked()
    assert not follower.waiting_for_rebuild


def _secondary_indexes(views) -> set[str]:
    """The read models' secondary indexes that exist now."""
    with views.reading() as cur:
        if views.kind == "sqlite":
            found = cur.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        else:
            found = cur.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            )
        names = {row[0] for row in found.fetchall()}
    return names & {index_name(statement) for statement in INDEXES}


def test_a_runner_starting_during_a_rebuild_leaves_the_indexes_it_dropped_to_it(
    app, clock, make_views
):
    # Built while the rebuild loads the tables, they would cost it row by row, and making
    # them would hold up its pages (`jam projections status` starts a runner, too).
    play(open_jam(app, clock))
    views = make_views()
    runner_for(app, views).catch_up()
    every = {index_name(statement) for statement in INDEXES}
    assert _secondary_indexes(views) == every
    _interrupt_rebuild(app, views)
    assert _secondary_indexes(views) == set()
    runner_for(app, views)
    assert _secondary_indexes(views) == set()
    runner_for(app, views).rebuild()
    assert _secondary_indexes(views) == every
