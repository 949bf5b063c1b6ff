"""Who voted how stays private: the live feed that every member of a jam reads says
which idea a vote changed, never which vote (a vote's id is derived from public ids)."""

from __future__ import annotations

from domain.values import vote_id
from jam import commands as c
from projections import queries
from tests.projections.conftest import runner_for
from tests.stories import open_jam


def test_the_live_feed_names_no_vote(app, clock, make_views):
    scene = open_jam(app, clock)
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea")
    idea = scene.post_idea(ada)
    app.handle(c.CastVote(actor=bea, idea_id=idea, value=-1))
    app.handle(c.CastVote(actor=bea, idea_id=idea, value=1))  # changed
    app.handle(c.CastVote(actor=bea, idea_id=idea, value=0))  # withdrawn
    views = make_views()
    runner_for(app, views).catch_up()
    with views.reading() as cur:
        feed = queries.updates_after(cur, 0, jam_id=str(scene.jam_id))
    votes = [u for u in feed if u.kind == "vote"]
    assert len(votes) == 3
    secret = str(vote_id(idea, bea))
    assert all(u.item_id != secret for u in feed)
    assert {(u.item_id, u.idea_id) for u in votes} == {(str(idea), str(idea))}
