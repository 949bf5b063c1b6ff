"""Jam Central and threads as they stood at a past log position or time."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from jam import commands as c
from projections import queries
from projections.timetravel import views_as_of
from tests.projections.conftest import runner_for
from tests.stories import open_jam


def test_views_as_of_a_position_or_a_time_replay_the_log_up_to_there(app, clock, make_views):
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(segment="client", name="Bob")
    idea = scene.post_idea(ada, title="Before noon")
    app.handle(c.CastVote(actor=bob, idea_id=idea, value=1))
    cut_position, cut_time = app.position(), clock.now
    clock.advance(timedelta(hours=2))
    app.handle(c.PostComment(actor=bob, comment_id=uuid4(), idea_id=idea, body="Later on"))
    app.handle(c.CastVote(actor=bob, idea_id=idea, value=-1))
    app.handle(c.EditIdea(actor=ada, idea_id=idea, title="After noon", body="Changed"))
    runner = runner_for(app, make_views())
    projector = runner._projector
    runner.catch_up()

    with runner.views.reading() as cur:
        now = queries.thread(cur, str(idea))
    assert (now.idea.title, now.idea.up, now.idea.down, len(now.comments)) == (
        "After noon",
        0,
        1,
        1,
    )

    for when in ({"position": cut_position}, {"at": cut_time}):
        with views_as_of(app.recorder, projector, **when) as past, past.reading() as cur:
            then = queries.thread(cur, str(idea))
            central = queries.jam_central(cur, str(scene.jam_id), cut_time)
            # The position they stand at: the last event replayed, not the end of the log.
            assert queries.position(cur) == cut_position
        assert (then.idea.title, then.idea.up, then.idea.down) == ("Before noon", 1, 0)
        assert then.comments == []
        assert sum(s.comments for s in central.segments) == 0
        assert sum(s.votes for s in central.segments) == 1

    # The live read models are untouched by looking back.
    with runner.views.reading() as cur:
        assert queries.thread(cur, str(idea)).idea.title == "After noon"


def test_looking_back_leaves_the_live_projection_counting_right(app, clock, make_views):
    # A replay reads the log to its end; with the live projector's memory it left that
    # projector the past's tallies for the next page to count on.
    scene = open_jam(app, clock)
    ada, bob, cy = (scene.join(name=n) for n in ("Ada", "Bob", "Cy"))
    idea = scene.post_idea(ada, title="Shared")
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    cut_time = clock.now
    clock.advance(timedelta(hours=1))
    app.handle(c.CastVote(actor=bob, idea_id=idea, value=1))
    runner = runner_for(app, make_views())
    runner.catch_up()
    with views_as_of(app.recorder, runner._projector, at=cut_time) as past, past.reading() as cur:
        assert queries.thread(cur, str(idea)).idea.up == 1
    app.handle(c.CastVote(actor=cy, idea_id=idea, value=1))
    runner.catch_up()
    with runner.views.reading() as cur:
        assert queries.thread(cur, str(idea)).idea.up == 3
