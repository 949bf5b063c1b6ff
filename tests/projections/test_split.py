"""A rebuild in two processes gives the read models a rebuild in one process gives.

The second process projects a share of the votes into a database of its own; the
merge adds it to the main one. These stories put votes cast, changed, withdrawn
and passed on both sides of the split, next to moderation and edits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest

from jam import commands as c
from jam.application import JamApplication
from jam.clock import ManualClock
from jam.settings import Settings
from jam.stores.sqlite import LogFile
from projections import pipeline, split
from projections.db import SQLiteViews
from projections.pipeline import RebuildInProgress, record
from projections.runner import REBUILD_MARK
from tests.projections.busy import play, play_tricky
from tests.projections.conftest import dump, runner_for
from tests.stories import Scene, open_jam


@pytest.fixture
def scene(tmp_path: Path, clock: ManualClock) -> Iterator[Scene]:
    """A busy jam on the embedded store (the split needs the log in a file)."""
    app = JamApplication(Settings(data_dir=tmp_path / "var"), clock=clock)
    scene = open_jam(app, clock)
    play_tricky(scene, play(scene))
    yield scene
    app.close()


@pytest.fixture
def story(scene: Scene) -> JamApplication:
    return scene.app


@pytest.fixture
def views(tmp_path: Path) -> Iterator[Callable[[], SQLiteViews]]:
    made: list[SQLiteViews] = []

    def make() -> SQLiteViews:
        made.append(SQLiteViews(tmp_path / f"views-{len(made)}.sqlite3"))
        return made[-1]

    yield make
    for v in made:
        v.close()


@pytest.fixture
def merges(monkeypatch) -> list[int]:
    """The positions merged from second processes (so a test knows the split ran)."""
    seen: list[int] = []
    merge = split.SplitRebuild.merge

    def noted(self, views, after, end, retention):
        seen.append(end)
        merge(self, views, after, end, retention)

    monkeypatch.setattr(split.SplitRebuild, "merge", noted)
    return seen


# "0": no vote goes to the second process; "8": about half; "g": every vote.
@pytest.mark.parametrize("below", ["0", "8", "g"])
def test_a_rebuild_in_two_processes_equals_one_in_one(story, views, merges, monkeypatch, below):
    monkeypatch.setattr(split, "SPLIT_BELOW", below)
    monkeypatch.setattr(pipeline, "PIPELINED_RUN_MIN", 3)  # the writer threads work too
    alone = runner_for(story, views(), split_min=10**9)
    alone.rebuild()
    both = runner_for(story, views(), split_min=0, rebuild_page_size=9)
    assert both.rebuild() == both.position == story.position()
    assert merges == [story.position()]
    assert dump(both.views) == dump(alone.views)
    assert not list(Path(both.views.path).parent.glob("*.share*"))  # its database is gone


def test_a_split_rebuild_keeps_the_feeds_last_positions_like_a_follower(
    story, views, merges, monkeypatch
):
    monkeypatch.setattr(split, "SPLIT_BELOW", "8")
    follower = runner_for(story, views(), page_size=2)
    follower._projector.feed_retention = 12
    follower.catch_up()
    rebuilt = runner_for(story, views(), split_min=0, rebuild_page_size=5)
    rebuilt._projector.feed_retention = 12
    rebuilt.rebuild()
    assert merges
    assert dump(rebuilt.views) == dump(follower.views)


def test_after_a_split_rebuild_the_runner_follows_new_votes_with_the_merged_tallies(
    story, scene, views, merges, monkeypatch
):
    """The main process's idea state held only its share of the tallies: it is dropped."""
    monkeypatch.setattr(split, "SPLIT_BELOW", "g")  # every vote in the second process
    rebuilt = runner_for(story, views(), split_min=0)
    rebuilt.rebuild()
    with rebuilt.views.reading() as cur:
        idea_id = cur.execute(
            "SELECT idea_id FROM rm_ideas WHERE up > 0 AND hidden = 0"
        ).fetchone()[0]
    voter = scene.join(segment="partner", name="Flo")
    story.handle(c.CastVote(actor=voter, idea_id=UUID(idea_id), value=1))
    rebuilt.catch_up()
    alone = runner_for(story, views(), split_min=10**9)
    alone.rebuild()
    assert merges
    assert dump(rebuilt.views) == dump(alone.views)


def test_a_failed_second_process_fails_the_rebuild_and_leaves_the_mark(story, views, monkeypatch):
    monkeypatch.setattr(
        type(story.recorder), "log_file", lambda self: LogFile("/nonexistent/log", "x")
    )
    rebuilt = runner_for(story, views(), split_min=0)
    with pytest.raises(RuntimeError, match="second process failed"):
        rebuilt.rebuild()
    with rebuilt.views.reading() as cur:
        assert cur.execute("SELECT 1 FROM rm_tracking WHERE name = ?", (REBUILD_MARK,)).fetchone()
    monkeypatch.undo()
    assert rebuilt.rebuild() == story.position()  # and the next rebuild completes


def test_a_merge_adds_nothing_once_another_rebuild_moved_the_read_models(story, views, monkeypatch):
    """Another rebuild began while the second process ran: this one fails, unmerged."""
    monkeypatch.setattr(split, "SPLIT_BELOW", "g")  # every vote in the second process
    merge = split.SplitRebuild.merge

    def overtaken(self, views, after, end, retention):
        with views.transaction() as cur:
            record(cur, 0)  # as a rebuild starting now leaves it
        merge(self, views, after, end, retention)

    monkeypatch.setattr(split.SplitRebuild, "merge", overtaken)
    rebuilt = runner_for(story, views(), split_min=0)
    with pytest.raises(RebuildInProgress, match="moved"):
        rebuilt.rebuild()
    with rebuilt.views.reading() as cur:
        assert cur.execute("SELECT COUNT(*) FROM rm_votes").fetchone() == (0,)
        assert cur.execute("SELECT 1 FROM rm_tracking WHERE name = ?", (REBUILD_MARK,)).fetchone()


def test_each_rebuild_has_a_file_of_its_own_and_a_dead_ones_file_is_removed(
    story, views, merges, monkeypatch
):
    target = views()
    folder, name = Path(target.path).parent, Path(target.path).name
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    stale = [folder / f"{name}.share-{dead}-1", folder / f"{name}.share-{dead}-1-wal"]
    alive = folder / f"{name}.share-{os.getpid()}-1"  # another rebuild in this process
    for path in (*stale, alive):
        path.write_bytes(b"")
    started: list[Path] = []
    init = split.SplitRebuild.__init__

    def noted(self, *args, **kwargs):
        init(self, *args, **kwargs)
        started.append(self._path)

    monkeypatch.setattr(split.SplitRebuild, "__init__", noted)
    runner_for(story, target, split_min=0).rebuild()
    assert merges
    assert started[0] not in (*stale, alive)
    assert started[0].name.startswith(f"{name}.share-{os.getpid()}-")
    assert not any(path.exists() for path in stale)
    assert alive.exists()
    assert not started[0].exists()
