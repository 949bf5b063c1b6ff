"""Pages of any size give the same read models as applying one event at a time.

Within a page the projection gathers rows and sums and writes each table once; a
rebuild also writes one page in a second thread while it gathers the next. These
stories put the tricky cases inside one page and across page boundaries.
"""

from __future__ import annotations

import pytest

from projections import pipeline
from projections.pipeline import runs
from projections.projector import Projector
from projections.runner import ProjectionRunner
from tests.projections.busy import play, play_tricky
from tests.projections.conftest import dump, runner_for
from tests.stories import open_jam


@pytest.fixture
def story(app, clock):
    scene = open_jam(app, clock)
    busy = play(scene)
    play_tricky(scene, busy)
    return app


def test_one_page_equals_one_event_at_a_time(story, make_views):
    one_by_one = runner_for(story, make_views(), page_size=1)
    assert one_by_one.catch_up() == story.position()
    whole = runner_for(story, make_views(), page_size=100_000)
    assert whole.catch_up() == story.position()
    assert dump(whole.views) == dump(one_by_one.views)


@pytest.mark.parametrize("page", [7, 100_000])
def test_a_pipelined_rebuild_equals_one_event_at_a_time(story, make_views, monkeypatch, page):
    monkeypatch.setattr(pipeline, "PIPELINED_RUN_MIN", 3)  # the writer thread works
    one_by_one = runner_for(story, make_views(), page_size=1)
    one_by_one.catch_up()
    rebuilt = runner_for(story, make_views(), rebuild_page_size=page)
    published = []
    rebuilt.on_updates(published.extend)
    assert rebuilt.rebuild() == rebuilt.position == story.position()
    assert dump(rebuilt.views) == dump(one_by_one.views)
    positions = [u.position for u in published]
    assert positions == sorted(positions)
    assert positions[-1] == story.position()


def test_a_rebuild_keeps_the_feeds_last_positions_like_a_follower(story, make_views, monkeypatch):
    monkeypatch.setattr(pipeline, "PIPELINED_RUN_MIN", 3)
    follower = runner_for(story, make_views(), page_size=2)
    follower._projector.feed_retention = 12
    follower.catch_up()
    rebuilt = runner_for(story, make_views(), rebuild_page_size=5)
    rebuilt._projector.feed_retention = 12
    rebuilt.rebuild()
    assert dump(rebuilt.views) == dump(follower.views)
    with rebuilt.views.reading() as cur:
        kept = cur.execute("SELECT MIN(position), MAX(position) FROM rm_updates").fetchone()
    assert kept[0] > story.position() - 12
    assert kept[1] == story.position()


def test_a_rebuilds_pages_shrink_near_the_end_and_give_the_same_views(
    story, make_views, monkeypatch
):
    monkeypatch.setattr(pipeline, "PIPELINED_RUN_MIN", 3)
    one_by_one = runner_for(story, make_views(), page_size=1)
    one_by_one.catch_up()
    asked: list[int] = []

    class Log:  # the application's log, noting the size of each page asked for
        def __getattr__(self, name: str):
            return getattr(story.recorder, name)

        def select_rows(self, start: int, limit: int, stop: int | None = None):
            asked.append(limit)
            return story.recorder.select_rows(start, limit, stop)

    largest = story.position() // 3
    rebuilt = ProjectionRunner(
        Log(),
        make_views(),
        Projector(story.mapper.transcoder.views_decoder),
        rebuild_page_size=largest,
    )
    assert rebuilt.rebuild() == story.position()
    assert dump(rebuilt.views) == dump(one_by_one.views)
    assert asked[0] == largest
    assert asked == sorted(asked, reverse=True)
    assert asked[-2] == max(1, largest // pipeline.REBUILD_LAST_PAGE_PART)  # then empty


def _rows(topics: str) -> list[tuple[int, str, str, bytes]]:
    return [(i + 1, "id", topic, b"") for i, topic in enumerate(topics)]


def test_a_page_is_cut_around_rarer_events_into_long_stretches_without_them():
    def cut(topics: str, min_run: int = 3) -> list[str]:
        return ["".join(r[2] for r in run) for run in runs(_rows(topics), {"R"}, min_run)]

    assert cut("vvvvv") == ["vvvvv"]
    assert cut("vRvvvvv") == ["vR", "vvvvv"]
    assert cut("vvvvRvvvvv") == ["vvvv", "R", "vvvvv"]
    assert cut("vRvRvvvv") == ["vRvR", "vvvv"]
    assert cut("vvvvvR") == ["vvvvv", "R"]
    assert cut("RvvR") == ["RvvR"]


def test_a_rebuild_stops_rather_than_apply_events_twice_if_the_position_moves_under_it(
    story, make_views, monkeypatch
):
    monkeypatch.setattr(pipeline, "PIPELINED_RUN_MIN", 3)
    views = make_views()
    rebuilder = runner_for(story, views, rebuild_page_size=10)

    def meddle(position: int, total: int) -> None:  # as a second rebuild starting would
        with views.transaction() as cur:
            cur.execute("UPDATE rm_tracking SET position = 0 WHERE name = 'openjam-views'")

    with pytest.raises(pipeline.RebuildInProgress, match="moved"):
        rebuilder.rebuild(progress=meddle)
    follower = runner_for(story, views)
    with pytest.raises(pipeline.RebuildInProgress):
        follower.catch_up()  # the rebuild's mark stays until a rebuild completes


def test_a_rebuild_takes_short_turns_of_the_interpreter_lock_and_gives_them_back(
    story, make_views, monkeypatch
):
    # The writer thread waits for the lock after each statement; short turns keep
    # that wait short. Only during the rebuild: the process's own setting comes back.
    import sys

    seen: list[float] = []
    prepare = Projector.prepare

    def noting_the_turns(self, *args, **kwargs):
        seen.append(sys.getswitchinterval())
        return prepare(self, *args, **kwargs)

    monkeypatch.setattr(Projector, "prepare", noting_the_turns)
    before = sys.getswitchinterval()
    rebuilt = runner_for(story, make_views())
    rebuilt.rebuild()
    assert seen
    assert seen == pytest.approx([pipeline.REBUILD_SWITCH_S] * len(seen))
    assert sys.getswitchinterval() == before
