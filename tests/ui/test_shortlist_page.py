"""The leadership shortlist page: its export links, its controls' names, its words."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections import ranking_views as rv
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import SESSION_COOKIE, issue_token


def _shortlist(tmp_path, clock) -> str:
    """A leader's shortlist page of a jam with two ideas."""
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_wait_ms=30_000), clock=clock)
    scene = open_jam(app, clock)
    ada = scene.join()
    scene.post_idea(ada, title="Rooftop gardens")
    scene.post_idea(ada, title="Quiet rooms")
    with TestClient(create_app(app.settings, jam=app)) as client:
        leader = issue_token(client.app.state.secret, scene.join(role="leader"))
        client.cookies.set(SESSION_COOKIE, leader)
        page = client.get(f"/jams/{scene.jam_id}/leadership", params={"after": app.position()})
        assert page.status_code == 200
    app.close()
    return page.text


def test_every_export_link_on_the_shortlist_downloads_a_file(tmp_path, clock):
    page = _shortlist(tmp_path, clock)
    links = re.findall(r"<a ([^>]*href=\"/api/jams/[^\"]+format=(?:csv|json)[^>]*)>", page)
    assert len(links) == 4  # the shortlist and the topics, each as CSV and as JSON
    for link in links:  # the server names each file, with the time it shows
        assert link.startswith("download href="), link


def test_each_ideas_decision_controls_are_named_by_the_idea(tmp_path, clock):
    # A screen reader lists the controls of every idea side by side: "Decision", "Note" and
    # "Record" alone cannot be told apart.
    page = _shortlist(tmp_path, clock)
    for title in ("Rooftop gardens", "Quiet rooms"):
        said = f"“{title}”"
        assert f'<span class="visually-hidden"> on {said}</span></label>' in page
        note = f'>Note<span class="visually-hidden"> on the decision on {said}</span> (optional)<'
        assert note in page
        assert f'Record<span class="visually-hidden"> the decision on {said}</span>' in page
    # Nothing decided yet: nothing chosen in advance (Record unchanged recorded the first).
    assert page.count('<option value="" selected disabled>choose…</option>') == 2


def test_the_score_is_explained_as_it_is_computed(tmp_path, clock):
    # It was "share agreeing 0.78 to 1.00, its lower end counting; bridging 0.73" beside a
    # score of 0.757, below that lower end: the two are combined, which it did not say.
    page = _shortlist(tmp_path, clock)
    assert "The score is the geometric mean of the two" in page
    assert "its lower end counting" not in page
    # Bridging is not a raw share: 0.73 beside groups at 100% needs the shrinkage said.
    assert "each drawn toward one half where few voted, combined" in page
    # Said once for all the ideas (it was fifteen lines a phone's screen for each of 20).
    assert page.count("geometric mean") == 1
    assert page.count("(support ") == 2  # each idea: its support, interval and bridging


def test_the_shortlist_is_as_of_its_newest_change_a_mark_or_a_decision_included(tmp_path, clock):
    # Marking a duplicate reranks without a vote, and a decision shows on the shortlist:
    # both left it "as of" the last vote, so two different shortlists (and their saved
    # files) bore one time.
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_wait_ms=30_000), clock=clock)
    scene = open_jam(app, clock)
    ada, bea = scene.join(), scene.join()
    first = scene.post_idea(ada, title="Rooftop gardens")
    copy = scene.post_idea(bea, title="Gardens on the roofs")
    app.handle(c.CastVote(actor=bea, idea_id=first, value=1))
    leader = scene.join(role="leader")
    url = f"/api/jams/{scene.jam_id}/shortlist"
    with TestClient(create_app(app.settings, jam=app)) as client:
        client.cookies.set(SESSION_COOKIE, issue_token(client.app.state.secret, leader))

        def as_of() -> datetime:
            shown = client.get(url, params={"after": app.position()}).json()
            return datetime.fromisoformat(shown["as_of"])

        voted = as_of()
        # Flags dismissed change no rank: not a time of the ranking (its "now" for trends).
        clock.advance(timedelta(minutes=1))
        app.handle(c.FlagIdea(actor=ada, idea_id=copy, reason="same idea"))
        app.handle(c.DismissFlags(actor=scene.organizer, idea_id=copy, reason="fine"))
        as_of()  # the read models hold the dismissal
        with client.app.state.services.views.reading() as cur:
            assert rv.read_snapshot(cur, str(scene.jam_id)).as_of == voted
        clock.advance(timedelta(minutes=2))
        app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=first))
        marked = as_of()
        assert marked == voted + timedelta(minutes=3)
        clock.advance(timedelta(minutes=2))
        app.handle(c.RecordDecision(actor=leader, idea_id=first, decision="funded"))
        assert as_of() == marked + timedelta(minutes=2)
    app.close()
