"""Pages: user text is inert everywhere, forms need their CSRF token, roles are checked."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import quote, unquote
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from domain import Jam
from domain.comment import REPLY_DEPTH_MAX
from domain.errors import DomainError
from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections import queries
from projections.models import CommentNode, MinuteActivity
from ranking.model import Cluster
from tests.conftest import T0
from tests.stories import open_jam
from ui.activity import activity_chart
from ui.app import create_app
from ui.auth import SESSION_COOKIE, issue_token
from ui.notices import signature as notice_signature
from ui.pages import _past_hours, capped
from ui.topics import ClusterOut, DuplicateOut, TopicsOut

XSS = '<script>alert("owned")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def site(tmp_path, clock):
    # Generous waits: a refresh of the ranking takes a while on a busy machine.
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_wait_ms=30_000), clock=clock)
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        yield client, app, scene
    app.close()


def _as(client, participant) -> None:
    client.cookies.set(SESSION_COOKIE, issue_token(client.app.state.secret, participant))


def test_jam_central_reads_its_recent_figures_again_as_they_age(site):
    # Votes a minute ago count in "votes cast/min" until they leave the last five minutes:
    # an open page is told when, and reads the page again then (live.js, data-deadline).
    client, app, scene = site
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    assert "<span hidden data-deadline=" not in client.get(central).text  # nothing recent
    scene.post_idea(scene.join())
    page = client.get(central, params={"after": app.position()}).text
    assert "<span hidden data-deadline=" in page


def test_script_in_user_text_is_inert_on_every_page(site):
    client, app, scene = site
    ada = scene.join(name=XSS[:60])
    idea = scene.post_idea(ada, title=XSS[:120], body=XSS)
    comment = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body=XSS))
    app.handle(c.FlagIdea(actor=scene.join(), idea_id=idea, reason=XSS))
    _as(client, scene.organizer)
    pages = [
        f"/jams/{scene.jam_id}?after={comment.position}",
        f"/ideas/{idea}?after={comment.position + 1}",
        f"/jams/{scene.jam_id}/central",
        f"/jams/{scene.jam_id}/leadership?after={comment.position + 1}",
        "/",
        "/me",
    ]
    for path in pages:
        html = client.get(path).text
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        # The home page shows no user text, nor does an organizer's own page without ideas.
        assert path in ("/", "/me") or "&lt;script&gt;" in html, path
        title = html.split("<title>")[1].split("</title>")[0]
        assert "<" not in title, path


def test_a_form_post_without_its_csrf_token_is_refused(site):
    client, _, scene = site
    _as(client, scene.join())
    forged = client.post(
        f"/jams/{scene.jam_id}/ideas", data={"forum": "health", "title": "T", "body": "B"}
    )
    assert forged.status_code == 403


def test_a_form_post_with_its_token_posts_and_shows_the_thread(site):
    client, _, scene = site
    _as(client, scene.join(name="Ada"))
    page = client.get(f"/jams/{scene.jam_id}")
    token = page.text.split('name="_csrf_token" value="')[1].split('"')[0]
    posted = client.post(
        f"/jams/{scene.jam_id}/ideas",
        data={
            "forum": "health",
            "title": "Walking meetings",
            "body": "Outside.",
            "_csrf_token": token,
        },
    )
    assert posted.status_code == 200  # followed the redirect to the thread
    assert "Walking meetings" in posted.text
    refused = client.post(
        f"/jams/{scene.jam_id}/ideas",
        data={"forum": "nope", "title": "T", "body": "B", "_csrf_token": token, "kept": "1"},
    )
    assert "has no forum “nope”" in refused.text  # shown as a notice on the page
    # The rules' words as a sentence, naming the box as the page does (not "body").
    blank = client.post(
        f"/jams/{scene.jam_id}/ideas",
        data={"forum": "health", "title": "T", "body": "  ", "_csrf_token": token, "kept": "1"},
    )
    assert _notice_of(blank.text) == (">The text must not be empty (spaces alone do not count).")
    assert '<label for="body">The text of your idea</label>' in blank.text  # named alike
    # A forum of 60,000 characters is refused without sending them all back in the
    # redirect's address (a proxy would refuse a header that long).
    huge = client.post(
        f"/jams/{scene.jam_id}/ideas",
        data={"forum": "f" * 60_000, "title": "T", "body": "B", "_csrf_token": token, "kept": "1"},
        follow_redirects=False,
    )
    assert len(huge.headers["location"]) < 1_000
    assert "f" * 41 not in unquote(huge.headers["location"])


def test_signing_in_shows_the_jam_page_once_it_holds_the_join(site):
    # A page rendered before its reader's join was projected would have its live stream
    # replay the join, and the list be swapped at once instead of waiting behind a banner.
    client, app, scene = site
    code = uuid4().hex[:12].upper()
    app.handle(c.IssueInvite(code=code, role="participant", segment="client", jam_id=scene.jam_id))
    token = client.get("/").text.split('name="_csrf_token" value="')[1].split('"')[0]
    signed_in = client.post(
        "/signin",
        data={"invite_code": code, "display_name": "Bea", "_csrf_token": token},
        follow_redirects=False,
    )
    joined = app.position()
    assert signed_in.headers["location"] == f"/?after={joined}"
    home = client.get(signed_in.headers["location"], follow_redirects=False)
    assert home.headers["location"] == f"/jams/{scene.jam_id}?after={joined}"
    page = client.get(home.headers["location"]).text
    shown = int(page.split(f"/api/jams/{scene.jam_id}/stream?after=")[1].split('"')[0])
    assert shown >= joined


def test_a_form_sent_by_the_pages_script_is_told_where_its_redirect_leads(site):
    # The script follows it itself (location.replace keeps the tab's history one step per
    # page), so it must see it: a 200 with OpenJam-Location, its cookies kept.
    client, app, scene = site
    code = uuid4().hex[:12].upper()
    app.handle(c.IssueInvite(code=code, role="participant", segment="client", jam_id=scene.jam_id))
    form = {"invite_code": code, "display_name": "Bea", "_csrf_token": _token(client, "/")}
    signed_in = client.post(
        "/signin", data=form, headers={"OpenJam-Navigate": "1"}, follow_redirects=False
    )
    assert signed_in.status_code == 200
    assert "location" not in signed_in.headers
    assert signed_in.headers["openjam-location"] == f"/?after={app.position()}"
    assert "openjam_session" in signed_in.cookies
    home = client.get("/", headers={"OpenJam-Navigate": "1"}, follow_redirects=False)
    assert home.is_redirect  # a page being read is never answered so
    idea = scene.post_idea(scene.join())
    page = f"/ideas/{idea}"
    vote = {"value": "1", "_csrf_token": _token(client, page)}
    voted = client.post(f"{page}/vote", data=vote, follow_redirects=False)  # no script
    assert voted.is_redirect
    assert voted.headers["location"].startswith(page)
    # A refusal that is a page of its own (no CSRF token) is answered as it is.
    forged = client.post(f"{page}/vote", data={"value": "1"}, headers={"OpenJam-Navigate": "1"})
    assert forged.status_code == 403
    assert "openjam-location" not in forged.headers
    assert "<html" in forged.text


def test_jam_central_is_for_organizers(site):
    client, _, scene = site
    _as(client, scene.join())
    assert client.get(f"/jams/{scene.jam_id}/central").status_code == 403
    _as(client, scene.organizer)
    page = client.get(f"/jams/{scene.jam_id}/central")
    assert page.status_code == 200
    assert "<svg" in page.text
    title = page.text.split("<title>")[1].split("</title>")[0]
    assert title == "Jam Central · InnovationJam"
    # Alert, extend, close, add a forum, invite people: each once.
    assert page.text.count('action="/jams/') == 5


def test_jam_central_stays_readable_with_many_duplicates_and_a_wide_topic_table(site, monkeypatch):
    client, _, scene = site
    pairs = [
        DuplicateOut(f"i{n}", f"Copy {n}", f"o{n}", f"Original {n}", 0.99 - n / 100)
        for n in range(12)
    ]
    monkeypatch.setattr("ui.pages.read_duplicates", lambda services, jam_id: pairs)
    _as(client, scene.organizer)
    page = client.get(f"/jams/{scene.jam_id}/central").text
    section = page.split('<h2 id="duplicates">Likely duplicates</h2>')[1].split("<h2>")[0]
    shown, folded = section.split("<details>")
    assert shown.count("Mark the first as a duplicate") == 10  # the closest, at once
    assert "2 more likely duplicates, less alike" in folded
    assert folded.count("Mark the first as a duplicate") == 2
    css = client.get("/static/openjam.css").text
    assert "th { white-space: nowrap; }" in css  # "Ideas", not "Id/ea/s"
    assert 'input[type="checkbox"], input[type="radio"] { width: auto; }' in css  # by its label
    assert ".scroll { overflow-x: auto;" in css


def test_jam_central_offers_only_the_schedule_changes_the_jam_still_allows(site, clock):
    client, app, scene = site
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    clock.advance(timedelta(hours=73))  # past its end: closed, and can still be extended
    ended = client.get(central).text.split("<h2>Schedule</h2>")[1]
    assert "Extend the jam" in ended
    assert "Close the jam now" not in ended
    app.handle(
        c.ExtendJam(
            actor=scene.organizer, jam_id=scene.jam_id, ends_at=clock.now + timedelta(days=1)
        )
    )
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    closed = client.get(central, params={"after": app.position()}).text.split("<h2>Schedule")[1]
    assert "Extend the jam" not in closed
    assert "Close the jam now" not in closed
    assert "cannot be reopened or extended" in closed


def _token(client, path: str) -> str:
    return client.get(path).text.split('name="_csrf_token" value="')[1].split('"')[0]


def test_leaders_decide_and_organizers_extend_from_their_pages(site, clock):
    client, app, scene = site
    idea = scene.post_idea(scene.join())
    page = f"/ideas/{idea}"
    _as(client, scene.organizer)
    assert "Record decision" not in client.get(page).text
    _as(client, scene.join(role="leader", name="Lee"))
    assert "Record decision" in client.get(page).text
    # Undecided, nothing is chosen in advance (Record unchanged recorded "shortlisted").
    assert '<option value="" selected disabled>choose…</option>' in client.get(page).text
    decided = client.post(
        f"{page}/decision",
        data={"decision": "funded", "note": "Go", "_csrf_token": _token(client, page)},
    )
    assert "decision: funded" in decided.text
    shortlist = client.get(
        f"/jams/{scene.jam_id}/leadership", params={"after": app.position()}
    ).text
    when = clock.now.astimezone(UTC).isoformat()[:16].replace("T", " ")
    assert f"funded (Go) on {when} UTC by Lee" in shortlist  # when, to the minute, and who
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    later = (clock.now.replace(tzinfo=None) + timedelta(days=5)).isoformat()
    extended = client.post(
        f"/jams/{scene.jam_id}/schedule",
        data={"ends_at": later[:16], "_csrf_token": _token(client, central)},
    )
    assert extended.status_code == 200
    assert app.load(Jam, scene.jam_id).ends_at.isoformat()[:16] == later[:16]
    # A time with an offset (pasted, or from a script) means that moment, not that clock time.
    in_lisbon_summer = (clock.now + timedelta(days=6)).astimezone(timezone(timedelta(hours=1)))
    client.post(
        f"/jams/{scene.jam_id}/schedule",
        data={"ends_at": in_lisbon_summer.isoformat(), "_csrf_token": _token(client, central)},
    )
    assert app.load(Jam, scene.jam_id).ends_at == in_lisbon_summer


def test_organizers_add_a_forum_from_jam_central(site):
    client, app, scene = site
    central = f"/jams/{scene.jam_id}/central"
    _as(client, scene.organizer)
    form = {"title": "Cities & towns", "description": "Where we live", "slug": ""}
    added = client.post(
        f"/jams/{scene.jam_id}/forums", data={**form, "_csrf_token": _token(client, central)}
    )
    assert added.status_code == 200
    assert "The forum “Cities &amp; towns” is added: ?forum=cities-towns." in _done_of(added.text)
    assert 'Cities &amp; towns <span class="muted">(?forum=cities-towns)</span>' in added.text
    forums = app.load(Jam, scene.jam_id).forums
    assert (forums["cities-towns"].title, forums["cities-towns"].description) == (
        "Cities & towns",
        "Where we live",
    )
    # Participants post in it at once.
    _as(client, scene.join())
    page = client.get(f"/jams/{scene.jam_id}", params={"after": app.position()}).text
    assert '<option value="cities-towns" >Cities &amp; towns</option>' in page
    # The same name again, or one with no letter to make an address of, is refused, said why.
    _as(client, scene.organizer)
    again = client.post(
        f"/jams/{scene.jam_id}/forums", data={**form, "_csrf_token": _token(client, central)}
    )
    assert "Forum “cities-towns” already exists" in _notice_of(again.text)
    # A title in another script has no letter to make an address of: forum-1 is its own.
    unnamed = client.post(
        f"/jams/{scene.jam_id}/forums",
        data={**form, "title": "日本", "_csrf_token": _token(client, central)},
    )
    assert "The forum “日本” is added: ?forum=forum-1." in _done_of(unnamed.text)
    badly = client.post(
        f"/jams/{scene.jam_id}/forums",
        data={**form, "slug": "Bad Name!", "_csrf_token": _token(client, central)},
    )
    # In the form's words ("name in its address"), not the rules' ("slug").
    assert "The name in its address takes 1 to 40 of a-z" in _notice_of(badly.text)
    untitled = client.post(
        f"/jams/{scene.jam_id}/forums",
        data={**form, "title": " \u200b ", "_csrf_token": _token(client, central)},
    )
    assert "Give the forum a title" in _notice_of(untitled.text)  # it shows nothing
    # Not an organizer: refused.
    _as(client, scene.join())
    refused = client.post(
        f"/jams/{scene.jam_id}/forums",
        data={"title": "Mine", "_csrf_token": _token(client, f"/jams/{scene.jam_id}")},
    )
    assert "mine" not in app.load(Jam, scene.jam_id).forums
    assert refused.status_code == 403, refused.text[-500:]


def _new_jam_form(client, **changes: str) -> dict[str, str]:
    home = client.get("/").text
    form = {
        "title": "Cities <b>& towns</b>",
        "description": "Where we live",
        "starts_at": "2030-05-01T10:00",  # an hour after the clock's now
        "ends_at": "2030-05-03T10:00",
        "forums": "Health & care\n\n  The future of work  \n日本\nصحة",
        "key": _form_key(home),
        "_csrf_token": _token(client, "/"),
    }
    return {**form, **changes}


def test_organizers_create_a_jam_from_the_home_page(site):
    client, app, scene = site
    _as(client, scene.organizer)
    home = client.get("/").text
    assert '<form class="stack" method="post" action="/jams" data-keep>' in home
    # The jams there, each with its status as its own page says it, and its dates.
    assert (
        "Open now: 72 h 0 min left. Starts 2030-05-01 09:00 UTC · ends 2030-05-04 09:00 UTC" in home
    )
    made = client.post("/jams", data=_new_jam_form(client))
    assert made.status_code == 200
    assert made.url.path.endswith("/central")
    jam_id = UUID(made.url.path.split("/")[2])
    assert "The jam is created." in _done_of(made.text)
    assert "<h1>Jam Central: Cities &lt;b&gt;&amp; towns&lt;/b&gt;</h1>" in made.text
    jam = app.load(Jam, jam_id)
    assert (jam.title, jam.description) == ("Cities <b>& towns</b>", "Where we live")
    assert (jam.starts_at, jam.ends_at) == (
        datetime(2030, 5, 1, 10, tzinfo=UTC),
        datetime(2030, 5, 3, 10, tzinfo=UTC),
    )
    # Address names made from the titles, as "Add a forum" makes them (forum-1, forum-2
    # for titles in other scripts).
    assert {s: f.title for s, f in jam.forums.items()} == {
        "health-care": "Health & care",
        "the-future-of-work": "The future of work",
        "forum-1": "日本",
        "forum-2": "صحة",
    }
    home = client.get("/").text
    assert "Cities &lt;b&gt;&amp; towns&lt;/b&gt;</a>" in home
    assert "Opens in 1 h 0 min. Starts 2030-05-01 10:00 UTC · ends 2030-05-03 10:00 UTC" in home
    # The same form sent again (a double click, Back and send) makes no second jam.
    again = client.post("/jams", data=_new_jam_form(client))
    assert again.url.path == f"/jams/{jam_id}/central"
    assert "You created this jam already" in _done_of(again.text)
    assert client.get("/").text.count("Cities &lt;b&gt;") == 1


def test_a_jam_the_rules_refuse_comes_back_saying_why(site):
    client, app, scene = site
    others = (scene.join(), scene.join(role="organizer"))  # a participant, a jam's organizer
    _as(client, scene.organizer)
    before = app.position()
    refusals = {
        "A jam must end after it starts.": {"ends_at": "2030-05-01T08:00"},
        "List the forums of the jam, one a line: it needs at least one.": {"forums": " \n \n"},
        "Give the start as 2030-05-04T09:00 (UTC).": {"starts_at": "tomorrow"},
        "The forum “Health” is listed twice.": {"forums": "Health\nhealth"},
        "A new jam must end in the future.": {
            "starts_at": "2030-04-01T09:00",
            "ends_at": "2030-04-02T09:00",
        },
    }
    for said, changes in refusals.items():
        refused = client.post("/jams", data=_new_jam_form(client, **changes))
        assert refused.status_code == 200
        assert refused.url.path == "/"
        assert said in _notice_of(refused.text), said
    assert app.position() == before  # nothing recorded
    # Only an organizer of every jam creates jams: anyone else's post was forged.
    for who in others:
        _as(client, who)
        token = _token(client, f"/jams/{scene.jam_id}")
        forged = client.post("/jams", data={**_new_jam_form(client), "_csrf_token": token})
        assert forged.status_code == 403, forged.text[-300:]
    assert app.position() == before


def test_organizers_make_invite_codes_in_jam_central_shown_once(site):
    client, app, scene = site
    central = f"/jams/{scene.jam_id}/central"
    _as(client, scene.organizer)
    page = client.get(central).text
    form = {
        "role": "leader",
        "segment": "client",
        "count": "3",
        "uses": "2",
        "key": _form_key(page),
        "_csrf_token": _token(client, central),
    }
    made = client.post(f"/jams/{scene.jam_id}/invites", data=form, follow_redirects=False)
    # Answered to the POST itself: the codes are in no address, notice or cache.
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    codes = made.text.split('<code id="invite-codes">')[1].split("</code>")[0].split("\n")
    assert len(set(codes)) == len(codes) == 3
    assert "3 codes for a leader of the client segment, each letting 2 people join" in made.text
    assert "Share each code privately" in made.text
    assert f'<a href="{central}#invite">Back to Jam Central</a>' in made.text
    # Sent again (a reload of this answer), the same codes, and none made.
    position = app.position()
    again = client.post(f"/jams/{scene.jam_id}/invites", data=form)
    assert all(code in again.text for code in codes)
    assert "no new ones were made" in again.text
    assert app.position() == position
    # A code signs two people in, each a leader of the client segment of this jam.
    for name in ("Lee", "Lou"):
        client.cookies.clear()
        signed = client.post(
            "/signin",
            data={
                "invite_code": codes[0],
                "display_name": name,
                "_csrf_token": _token(client, "/"),
            },
        )
        assert signed.url.path == f"/jams/{scene.jam_id}"
        assert f"{name} · leader · client" in signed.text
    # Beyond the API's limits, or a role it does not know: said why, nothing made.
    _as(client, scene.organizer)
    position = app.position()
    for changes, said in (
        ({"count": "1001"}, "Give how many codes to make: 1 to 1,000."),
        ({"count": "0"}, "Give how many codes to make: 1 to 1,000."),
        ({"uses": "100001"}, "Give how many people may join with each code: 1 to 100,000."),
        ({"role": "admin"}, "Choose the role of the people you invite"),
        ({"segment": "press"}, "Choose their segment"),
    ):
        refused = client.post(
            f"/jams/{scene.jam_id}/invites",
            data={**form, **changes, "_csrf_token": _token(client, central)},
        )
        assert refused.url.path == central
        assert said in _notice_of(refused.text), said
    assert app.position() == position


def test_invite_codes_are_for_organizers_and_their_csrf_token(site):
    client, app, scene = site
    participant = scene.join()
    before = app.position()
    form = {"role": "organizer", "segment": "employee", "count": "1", "uses": "1"}
    _as(client, participant)
    token = _token(client, f"/jams/{scene.jam_id}")
    refused = client.post(f"/jams/{scene.jam_id}/invites", data={**form, "_csrf_token": token})
    assert refused.status_code == 403
    assert "only organizers of this jam may invite people" in refused.text.lower()
    # An organizer's form without its CSRF token (sent from another site): refused too.
    _as(client, scene.organizer)
    for path, data in ((f"/jams/{scene.jam_id}/invites", form), ("/jams", _new_jam_form(client))):
        data = {k: v for k, v in data.items() if k != "_csrf_token"}
        assert client.post(path, data=data).status_code == 403, path
    assert app.position() == before


def test_the_header_leads_to_the_same_places_on_every_page(site):
    client, app, scene = site
    leader, organizer = scene.join(role="leader"), scene.join(role="organizer")
    for who, places in ((leader, ("leadership",)), (organizer, ("central", "leadership"))):
        _as(client, who)
        for page in ("/me", f"/jams/{scene.jam_id}"):
            header = client.get(page, params={"after": app.position()}).text.split("</header>")[0]
            for place in places:
                assert f'href="/jams/{scene.jam_id}/{place}"' in header, (page, place)
    # An organizer of every jam has none of their own: off a jam's pages, the list of jams.
    _as(client, scene.organizer)
    header = client.get("/me").text.split("</header>")[0]
    assert '<a href="/">All jams</a>' in header
    assert "All jams" not in client.get(f"/jams/{scene.jam_id}").text.split("</header>")[0]


def test_my_activity_page_lists_my_ideas(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Mine")
    _as(client, ada)
    client.get(f"/ideas/{idea}?after={app.position()}")  # wait for the read models
    assert f'<a href="/ideas/{idea}" dir="auto">Mine</a>' in client.get("/me").text
    # An idea an organizer hid is still the author's: listed as hidden, and leading to its
    # page, which its author still reads (with the reason).
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="off topic"))
    client.get(f"/jams/{scene.jam_id}?after={app.position()}")
    mine = client.get("/me").text
    assert (
        f'<a href="/ideas/{idea}" dir="auto">Mine</a>'
        ' <span class="muted">· hidden by an organizer ·</span>' in mine
    )
    assert "off topic" in client.get(f"/ideas/{idea}").text
    other = scene.post_idea(scene.join(name="Bea"))
    for body in ("Yes", "Rude"):
        app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=other, body=body))
    rude = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=other, body="Ugh"))
    app.handle(c.HideComment(actor=scene.organizer, comment_id=rude.id, reason="rude"))
    client.get(f"/jams/{scene.jam_id}?after={app.position()}")
    app.handle(c.CastVote(actor=ada, idea_id=other, value=1))
    client.get(f"/jams/{scene.jam_id}?after={app.position()}")
    mine = client.get("/me").text
    assert "3 comments (1 hidden by an organizer)" in mine
    # Each thread and each vote leads back to its idea.
    commented = mine.split("<h2>My comments</h2>")[1].split("<h2>")[0]
    assert (
        f'<a href="/ideas/{other}" dir="auto">Four-day week</a> <span class="muted">3 comments'
        in commented
    )
    voted = mine.split("<h2>My votes</h2>")[1].split("<h2>")[0]
    assert (
        f'<a href="/ideas/{other}" dir="auto">Four-day week</a> <span class="muted">support'
        in voted
    )
    # Hidden since, another's idea is listed untitled (its title is often what was hidden);
    # one's own keeps its title and its link.
    own = scene.post_idea(ada, title="Also mine")
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=own, body="More"))
    for gone in (other, own):
        app.handle(c.HideIdea(actor=scene.organizer, idea_id=gone, reason="off topic"))
    mine = client.get("/me", params={"after": app.position()}).text
    assert "Four-day week" not in mine
    commented = mine.split("<h2>My comments</h2>")[1].split("<h2>")[0]
    assert commented.count('<span class="muted">an idea hidden by an organizer ·</span>') == 1
    assert (
        f'<a href="/ideas/{own}" dir="auto">Also mine</a> <span class="muted">· hidden by'
        in commented
    )


def test_an_organizer_alert_shows_on_every_jam_page_until_taken_down(site):
    client, app, scene = site
    idea = scene.post_idea(scene.join())
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    sent = client.post(
        f"/jams/{scene.jam_id}/alert",
        data={"message": "Voting closes at <b>noon</b>", "_csrf_token": _token(client, central)},
    )
    assert sent.status_code == 200
    seen = app.position()
    banner = '<p class="alert" data-alert>📣 Voting closes at &lt;b&gt;noon&lt;/b&gt;</p>'
    # Organizers and leaders see it as everyone does, on their own pages too.
    for page in (central, f"/jams/{scene.jam_id}/leadership"):
        assert banner in client.get(page, params={"after": seen}).text, page
    _as(client, scene.join())
    for page in (f"/jams/{scene.jam_id}", f"/ideas/{idea}"):
        html = client.get(page, params={"after": seen}).text
        assert banner in html, page
    _as(client, scene.organizer)
    client.post(
        f"/jams/{scene.jam_id}/alert", data={"message": "", "_csrf_token": _token(client, central)}
    )
    assert "Voting closes" not in client.get(f"/jams/{scene.jam_id}").text


def test_the_moderation_queue_on_jam_central_hides_flagged_ideas(site):
    client, app, scene = site
    ada = scene.join()
    idea = scene.post_idea(ada, title="Cheap watches")
    app.handle(c.FlagIdea(actor=scene.join(), idea_id=idea, reason="spam"))
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    page = client.get(central, params={"after": app.position()}).text
    assert "Cheap watches" in page
    assert f'action="/ideas/{idea}/moderation"' in page
    client.post(
        f"/ideas/{idea}/moderation",
        data={
            "action": "hide",
            "reason": "flagged by participants",
            "_csrf_token": _token(client, central),
        },
        headers={"Referer": central},
    )
    after = client.get(central, params={"after": app.position()}).text
    assert "· hidden" in after


def test_the_moderation_queue_takes_the_organizers_own_reason(site):
    client, app, scene = site
    idea = scene.post_idea(scene.join(), title="Cheap watches")
    app.handle(c.FlagIdea(actor=scene.join(), idea_id=idea, reason="spam"))
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    page = client.get(central, params={"after": app.position()}).text
    queue = page.split("<h2>Moderation queue</h2>")[1].split("</ul>")[0]
    # An editable reason to hide it, and a note of its own to dismiss the flags, so a
    # dismissal is not logged with the reason for hiding.
    assert f'<input id="why-{idea}" name="reason" maxlength="500" required' in queue
    assert f'<input id="keep-{idea}" name="reason" maxlength="500" placeholder' in queue
    assert 'name="action" value="hide"' in queue
    assert 'name="action" value="dismiss"' in queue
    assert 'type="hidden" name="reason"' not in queue
    client.post(
        f"/ideas/{idea}/moderation",
        data={"action": "hide", "reason": "a shop", "_csrf_token": _token(client, central)},
        headers={"Referer": central},
    )
    actions = client.get(f"/api/jams/{scene.jam_id}/moderation", params={"after": app.position()})
    assert actions.json()["actions"][0]["reason"] == "a shop"


def test_jam_central_names_forums_by_title_and_its_tables_scroll_on_a_phone(site):
    client, app, scene = site
    scene.post_idea(scene.join(), title="Cheap watches")
    _as(client, scene.organizer)
    page = client.get(f"/jams/{scene.jam_id}/central", params={"after": app.position()}).text
    forums = page.split("<h2>Forums</h2>")[1].split("</table>")[0]
    assert "<td>The future of work</td>" in forums
    assert "future-of-work" not in forums
    for heading in ("Segments", "Forums"):
        assert (
            page.split(f"<h2>{heading}</h2>")[1]
            .split("<table>")[0]
            .endswith('<div class="scroll">')
        ), heading


def test_an_organizer_dismisses_the_flags_of_an_idea_kept_as_it_is(site):
    client, app, scene = site
    ada, bea = scene.join(), scene.join(name="Bea")
    idea = scene.post_idea(ada, title="Bold but fine")
    app.handle(c.FlagIdea(actor=bea, idea_id=idea, reason="rude"))
    _as(client, bea)
    flagged = client.get(f"/ideas/{idea}", params={"after": app.position()}).text
    assert "You have flagged this idea; the organizers will look at it." in flagged
    assert "Flag this idea for the organizers" not in flagged
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    page = client.get(central, params={"after": app.position()}).text
    assert "Dismiss the flags" in page
    client.post(
        f"/ideas/{idea}/moderation",
        data={"action": "dismiss", "reason": "", "_csrf_token": _token(client, central)},
        headers={"Referer": central},
    )
    after = client.get(central, params={"after": app.position()}).text
    assert "Bold but fine" not in after.split("<h2>Moderation queue</h2>")[1].split("</ul>")[0]
    assert "Bold but fine" in client.get(f"/ideas/{idea}").text  # kept, not hidden
    # The flagger is told their flag was looked at (it had said "will look at it" for ever,
    # or, once the form came back, nothing), and may flag it again.
    _as(client, bea)
    reviewed = client.get(f"/ideas/{idea}").text
    assert "The organizers looked at your flag and kept the idea as it is." in reviewed
    assert "Flag this idea for the organizers" in reviewed


def test_the_shortlist_page_is_for_leaders_and_organizers(site):
    client, app, scene = site
    ada = scene.join()
    scene.post_idea(ada, title="Rooftop gardens")
    page = f"/jams/{scene.jam_id}/leadership"
    _as(client, ada)
    assert client.get(page).status_code == 403
    _as(client, scene.join(role="leader"))
    shown = client.get(page, params={"after": app.position()})  # ranked up to now
    assert shown.status_code == 200
    assert "Rooftop gardens" in shown.text
    assert "Record" in shown.text  # leaders decide from here
    # Why the order is not the scores' (a leader took it for a mistake).
    assert "an idea much like one above it can come after a lower-scored idea" in shown.text
    at = app.clock().isoformat()
    earlier = client.get(page, params={"as_of": at}).text  # ranked again from the log
    assert "Rooftop gardens" in earlier
    assert f"as of {at[:16].replace('T', ' ')} UTC" in earlier  # the time asked for
    assert "too few votes yet to find opinion groups" in earlier  # not "the 0 groups"
    naive = client.get(page, params={"as_of": at[:16]})  # typed by hand: UTC
    assert naive.status_code == 200
    assert "Rooftop gardens" in naive.text
    garbage = client.get(page, params={"as_of": "garbage"})
    assert garbage.status_code == 422
    assert "is not a time: give as_of as 2030-05-02T12:00 (UTC)" in garbage.text
    assert f"shortlist?format=csv&amp;clean=true&amp;as_of={quote(at)}" in earlier
    assert f'href="?clean=false&amp;as_of={quote(at)}"' in earlier
    assert "by score alone, number 1 with every vote and 1 without suspect votes" in earlier
    before = client.get(page, params={"as_of": "2001-01-01T00:00:00+00:00"}).text
    assert "Nothing was ranked as of 2001-01-01 00:00 UTC" in before
    assert f'<a href="/jams/{scene.jam_id}/leadership?clean=true">The shortlist now</a>' in before
    assert f'action="/jams/{scene.jam_id}/leadership/as-of"' in before  # or another time
    assert "· from the" in earlier
    assert '<p class="muted">The future of work · from the' in earlier  # forums by title
    # A time still to come is not a view of it: the shortlist now, said to be now.
    future = client.get(f"{page}/as-of", params={"as_of": "2099-01-01T00:00"})
    assert "as_of" not in future.url.query.decode()
    assert "That time has not come yet: this is the shortlist now" in _notice_of(future.text)
    assert "as of 2099" not in future.text
    linked = client.get(page, params={"as_of": "2099-01-01T00:00"}).text  # a link, not the form
    assert "That time has not come yet: this is the shortlist now." in linked
    assert "as of 2099" not in linked
    _as(client, ada)
    assert "/me" in client.get("/me").text


def test_a_past_shortlist_names_the_last_change_it_shows_as_its_files_do(site, clock):
    # The page said the time asked for, its files the ranking's: two times for one view.
    client, app, scene = site
    scene.post_idea(scene.join(), title="Rooftop gardens")
    _as(client, scene.join(role="leader"))
    posted = app.clock()
    clock.advance(timedelta(minutes=30))
    at = app.clock().isoformat()
    page = client.get(f"/jams/{scene.jam_id}/leadership", params={"as_of": at}).text
    shown = f"{posted:%Y-%m-%d %H:%M} UTC (the time its exports are named by)"
    assert f"as of {at[:16].replace('T', ' ')} UTC, which shows the jam as it was" in page
    assert f"at its last change before then, {shown}" in page
    export = client.get(
        f"/api/jams/{scene.jam_id}/shortlist", params={"format": "csv", "as_of": at}
    )
    assert f"as-of-{posted:%Y-%m-%dT%H%M%SZ}" in export.headers["content-disposition"]


def test_a_view_of_the_past_says_which_ideas_were_hidden_since(site, clock):
    client, app, scene = site
    ada = scene.join()
    gone = scene.post_idea(ada, title="Insulting rant")
    scene.post_idea(ada, title="Rooftop gardens")
    at = app.clock().isoformat()
    clock.advance(timedelta(minutes=5))
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=gone, reason="abuse"))
    _as(client, scene.join(role="leader"))
    page = client.get(f"/jams/{scene.jam_id}/leadership", params={"as_of": at}).text
    entry = page.split(f'<li id="idea-{gone}">')[1].split("</li>")[0]
    assert "hidden by an organizer since" in entry
    assert "Insulting rant" not in page  # a leader does not read what was hidden
    assert f'href="/ideas/{gone}"' not in page  # not offered as a thread to open
    assert f'action="/ideas/{gone}/decision"' not in page  # nor to decide on
    assert "Record" in page  # the idea still shown as it was is decided as before
    # Decided there, the leader lands on the shortlist now, where the decision shows (the
    # view of the past went on saying "none yet").
    kept = page.split('action="/ideas/')[1].split("/decision")[0]
    board = f"/jams/{scene.jam_id}/leadership?as_of={quote(at)}"
    decided = client.post(
        f"/ideas/{kept}/decision",
        data={"decision": "funded", "note": "", "_csrf_token": _token(client, board)},
        headers={"referer": f"{client.base_url}{board}"},
        follow_redirects=False,
    )
    landed = decided.headers["location"]
    assert landed.startswith(f"/jams/{scene.jam_id}/leadership?"), landed
    assert "as_of" not in landed
    now = client.get(landed).text
    assert "This is the current shortlist, where the decision shows." in _done_of(now)
    assert "funded on" in now.split(f'<li id="idea-{kept}">')[1].split("</li>")[0]
    url = f"/api/jams/{scene.jam_id}/shortlist"
    listed = client.get(url, params={"as_of": at}).json()["shortlist"]
    assert {e["title"]: e["hidden"] for e in listed} == {"": True, "Rooftop gardens": False}
    download = client.get(url, params={"as_of": at, "format": "csv"})
    rows = {
        r["title"]: r["hidden"]
        for r in csv.DictReader(io.StringIO(download.content.decode("utf-8-sig")))
    }
    assert rows == {"": "1", "Rooftop gardens": "0"}
    _as(client, scene.organizer)  # who reads hidden ideas, titles included
    listed = client.get(url, params={"as_of": at}).json()["shortlist"]
    assert {e["title"]: e["hidden"] for e in listed} == {
        "Insulting rant": True,
        "Rooftop gardens": False,
    }
    _as(client, scene.join(role="leader"))
    # Saved, a view of the past is told apart from today's, and with every vote from without.
    shown = client.get(url, params={"as_of": at}).json()["as_of"]
    second = datetime.fromisoformat(shown).astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    named = f"shortlist-{scene.jam_id}-as-of-{second}"
    assert f'filename="{named}.csv"' in download.headers["content-disposition"]
    every = client.get(url, params={"as_of": at, "format": "csv", "clean": "false"})
    assert f'filename="{named}-every-vote.csv"' in every.headers["content-disposition"]
    now = client.get(url, params={"format": "csv"}).headers["content-disposition"]
    assert f'filename="shortlist-{scene.jam_id}-as-of-' in now  # today's is named for its time
    # JSON asked for by name is a file named alike; the plain API answer is not a file.
    as_json = client.get(url, params={"as_of": at, "format": "json", "clean": "false"})
    assert as_json.json()["as_of"] == shown
    disposition = as_json.headers["content-disposition"]
    assert disposition == f'attachment; filename="{named}-every-vote.json"'
    assert "content-disposition" not in client.get(url, params={"as_of": at}).headers


def test_a_page_address_with_a_wrong_value_says_which_and_how_in_plain_words(site):
    client, _, scene = site
    _as(client, scene.organizer)
    cases = {
        f"/jams/{scene.jam_id}?offset=-1": "offset must be a whole number, 0 or more",
        f"/jams/{scene.jam_id}/leadership?clean=maybe": "clean must be true or false",
    }
    for path, said in cases.items():
        answer = client.get(path)
        assert answer.status_code in (400, 422), path
        assert f"The address has a value this page cannot use: {said}" in answer.text, path
        assert "Validation failed" not in answer.text, path
        assert "Expected `" not in answer.text, path
    soon = client.get(f"/jams/{scene.jam_id}/central?topics_at=soon")
    assert soon.status_code == 422
    assert "&#39;soon&#39; is not a time: give topics_at as 2030-05-02T12:00 (UTC)" in soon.text
    # A form sent with a field twice is the form's fault, not the address's.
    thread = f"/ideas/{scene.post_idea(scene.join())}"
    twice = client.post(
        f"{thread}/comments",
        content=f"body=a&body=b&_csrf_token={_token(client, thread)}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert twice.status_code in (400, 422)
    assert "The form sent something this page cannot read" in twice.text
    assert "address" not in twice.text.split("<h1>")[1].split("</main>")[0]
    # The timeline's "now (live)" sends an empty time: the live topics, not an error.
    live = client.get(f"/jams/{scene.jam_id}/central?topics_at=")
    assert live.status_code == 200
    assert "Live topics" in live.text or "Topics appear once" in live.text


def test_the_jam_page_leads_to_its_post_form(site):
    client, _, scene = site
    _as(client, scene.join())
    page = client.get(f"/jams/{scene.jam_id}").text
    assert '<a href="#post">Post an idea ↓</a>' in page  # below a hundred ideas on a phone
    assert '<h2 id="post">Post an idea</h2>' in page


def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_one(site):
    client, _, _ = site
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").text
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")


def test_a_refused_form_sent_without_the_pages_script_shows_what_was_typed(site):
    # The script keeps a form's text and gives it back after the redirect that says why;
    # without it (scripts off, or not loaded yet), that redirect lost an idea written for
    # the last minutes of a jam that closed meanwhile.
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    _as(client, ada)
    token = _token(client, f"/ideas/{idea}")
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))

    def send(path: str, **data: str):
        return client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)

    late = send(
        f"/jams/{scene.jam_id}/ideas",
        forum="health",
        title="Late <b>idea</b>",
        body="Two\nlines",
        key="k1",
    )
    assert late.status_code == 409
    assert "What you typed, to keep elsewhere:" in late.text
    assert '(title)">Late &lt;b&gt;idea&lt;/b&gt;</textarea>' in late.text  # escaped
    assert 'rows="3" aria-label="What you typed (body)">Two\nlines</textarea>' in late.text
    assert "The jam is closed" in late.text
    comment = send(f"/ideas/{idea}/comments", body="Agreed, late", key="k2")
    assert comment.status_code == 409
    assert 'aria-label="What you typed (body)">Agreed, late</textarea>' in comment.text
    edit = send(f"/ideas/{idea}/edit", title="Quiet rooms, bookable", body="By the hour.")
    assert edit.status_code == 409
    assert "By the hour.</textarea>" in edit.text
    # From a page whose script keeps the text: the redirect that says why, as before.
    kept = send(f"/ideas/{idea}/comments", body="Agreed, late", key="k2", kept="1")
    assert kept.status_code in (302, 303)
    assert "Agreed, late" not in client.get(f"/ideas/{idea}").text  # nothing was recorded


def test_a_form_goes_back_only_to_a_page_of_this_site(site):
    client, _, scene = site
    _as(client, scene.join())
    page = f"/jams/{scene.jam_id}"
    token = _token(client, page)
    for referer in ("https://evil.example/phish", "//evil.example/phish", "javascript:alert(1)"):
        answer = client.post(
            f"/jams/{scene.jam_id}/ideas",
            data={"forum": "nope", "title": "T", "body": "B", "_csrf_token": token, "kept": "1"},
            headers={"Referer": referer},
            follow_redirects=False,
        )
        location = answer.headers["location"]
        assert location.startswith("/"), location
        assert not location.startswith("//"), location


def test_organizers_hide_a_comment_from_the_thread_page(site):
    client, app, scene = site
    ada = scene.join()
    idea = scene.post_idea(ada)
    done = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Rude words"))
    reply = c.PostComment(
        actor=scene.join(name="Bea"),
        comment_id=uuid4(),
        idea_id=idea,
        body="Calm",
        parent_id=done.id,
    )
    app.handle(reply)
    _as(client, scene.organizer)
    page = f"/ideas/{idea}"
    before = client.get(page, params={"after": app.position()}).text
    # Folded under each comment, as Reply is, and named by the comment it acts on.
    folded = '<details class="moderate">\n            <summary aria-label="Hide the comment by'
    assert folded in before
    assert 'UTC">Hide…</summary>' in before
    token = _token(client, f"{page}?after={done.position}")
    client.post(
        f"/comments/{done.id}/moderation",
        data={"action": "hide", "reason": "rude", "idea_id": str(idea), "_csrf_token": token},
    )
    seen = client.get(page, params={"after": app.position()}).text  # the organizer
    assert "Rude words" in seen
    assert "· hidden: rude</span>" in seen  # and why: the reason given when hiding it
    # Restoring takes a reason of the organizer's own, offered but editable.
    assert f'<label class="muted" for="why-{done.id}">Why restore it?</label>' in seen
    assert 'type="hidden" name="reason"' not in seen
    api = client.get(f"/api/ideas/{idea}", headers={"accept": "application/json"}).json()
    assert api["comments"][0]["hidden_reason"] == "rude"
    _as(client, ada)
    shown = client.get(page, params={"after": app.position()}).text
    assert "Rude words" not in shown
    assert "rude" not in shown.split("<h2>Discussion")[1]  # the reason is for organizers
    theirs = client.get(f"/api/ideas/{idea}", headers={"accept": "application/json"}).json()
    assert theirs["comments"][0]["hidden_reason"] == ""
    hidden = shown.split(f'<li id="c-{done.id}">')[1].split("<ul")[0]
    assert '<p class="hidden-note">Hidden by an organizer.</p>' in hidden
    assert "hidden" not in hidden.replace("hidden-note", "").replace("Hidden by", "")  # once
    replied = shown.split(f'<li id="c-{reply.comment_id}">')[1].split("</li>")[0]
    assert "hidden-item" not in replied  # a visible reply is not faded with it
    assert "Calm" in replied


TOPIC_TITLES = [
    "Remote work from home two days a week",
    "Home office allowance for remote workers",
    "Work from home Fridays for every remote team",
    "Remote work hubs close to home",
    "Free flu vaccines at the hospital clinic",
    "Hospital clinic visits covered by insurance",
    "Health checks at the hospital clinic",
    "Mental health clinic hours at the hospital",
]


def test_organizers_see_live_topics_and_rename_one_from_jam_central(site):
    client, app, scene = site
    author = scene.join()
    ideas = [scene.post_idea(author, title=t, body=t) for t in TOPIC_TITLES]
    copy = scene.post_idea(author, title=TOPIC_TITLES[0] + "!", body=TOPIC_TITLES[0])
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    # Reading the shortlist with ?after= waits for a refresh that includes every idea.
    shortlist = f"/api/jams/{scene.jam_id}/shortlist"
    assert client.get(shortlist, params={"after": app.position()}).status_code == 200
    page = client.get(central).text
    assert "Live topics" in page
    assert 'class="map"' in page
    assert f'href="/api/jams/{scene.jam_id}/topics?format=csv"' in page  # export, as shown
    assert '<span class="visually-hidden">the topics as </span>CSV</a>' in page  # not "CSV"
    hours = client.get(f"/api/jams/{scene.jam_id}/topics").json()["history"]
    assert hours, "each refresh is kept for its hour"
    assert "Shape the topics" in page
    assert "Only a pinned topic also keeps its ideas together" in page  # what a refresh keeps
    # Participants, and the jam's organizers and leaders apart (they were counted as people
    # of their segment, "employee" unless their invite said otherwise).
    scene.join(role="leader")
    page = client.get(central, params={"after": app.position()}).text
    assert (
        '<strong>1</strong>participant joined <span class="muted">(and 1 organizer or leader)'
    ) in page
    assert "<td>employee</td><td>1</td>" in page
    # The hour under way is "now (live)": its kept refresh moves on at every refresh, so it is
    # not offered apart (an option changing under the reader at each refresh).
    assert f'<option value="{hours[0]}"' not in page
    earlier = client.get(central, params={"topics_at": hours[0]}).text
    shown = hours[0][:16].replace("T", " ")
    # Labelled with the time it shows (the last refresh of that hour), not the hour's start.
    assert f'<option value="{hours[0]}" selected>{shown} UTC</option>' in earlier
    # The past's clusters have ids of their own: shaping from there would change another topic.
    assert "Shape the topics" not in earlier
    assert 'action="/jams/' + str(scene.jam_id) + '/topics"' not in earlier
    assert "Back to the live topics</a> to shape them" in earlier
    before = client.get(central, params={"topics_at": "2000-01-01T00:00:00+00:00"}).text
    assert "No topics as of then" in before
    assert '<option value="">now (live)</option>' in before  # a way back to the present
    shown_at = datetime.fromisoformat(hours[0]).isoformat()  # as the page reads it back
    assert f"topics?format=csv&amp;as_of={quote(shown_at)}" in earlier
    as_of = client.get(f"/api/jams/{scene.jam_id}/topics", params={"as_of": hours[0]}).json()
    assert as_of["clusters"]
    saved = client.get(
        f"/api/jams/{scene.jam_id}/topics", params={"as_of": hours[0], "format": "csv"}
    ).headers["content-disposition"]
    assert f"topics-{scene.jam_id}-as-of-" in saved
    as_file = client.get(
        f"/api/jams/{scene.jam_id}/topics", params={"as_of": hours[0], "format": "json"}
    )
    assert as_file.json() == as_of
    assert as_file.headers["content-disposition"] == saved.replace(".csv", ".json")
    assert as_of["position"] <= app.position()
    assert "Likely duplicates" in page
    assert f'action="/ideas/{copy}/duplicate"' in page
    cluster = page.split('name="cluster_id">')[1].split('value="')[1].split('"')[0]
    answer = client.post(
        f"/jams/{scene.jam_id}/topics",
        data={
            "action": "rename",
            "cluster_id": cluster,
            "label": "Where we work",
            "_csrf_token": _token(client, central),
        },
        follow_redirects=False,
    )
    assert answer.status_code in (302, 303)
    assert client.get(shortlist, params={"after": app.position()}).status_code == 200
    renamed = client.get(answer.headers["location"]).text
    # The request records the decision; the ranking worker recomputes the topics: said.
    assert _done_of(renamed) == (
        "The topic is renamed. The topics below show it from the next refresh,"
        " within about 10 seconds."
    )
    assert "Where we work" in renamed
    assert "<title>Where we work</title>" in renamed  # the map names it in full on hover
    refused = client.post(
        f"/jams/{scene.jam_id}/topics",
        data={"action": "split", "cluster_id": "t999", "_csrf_token": _token(client, central)},
        headers={"referer": central},
        follow_redirects=False,
    )
    assert "notice=" in refused.headers["location"]  # told why, nothing recorded
    too_long = client.post(
        f"/jams/{scene.jam_id}/topics",
        data={
            "action": "rename",
            "cluster_id": cluster,
            "label": "x" * 500,
            "_csrf_token": _token(client, central),
        },
        headers={"referer": central},
    )
    assert "A topic&#39;s label is 1 to 80 characters" in _notice_of(too_long.text)
    marked = client.post(
        f"/ideas/{copy}/duplicate",
        data={"original_id": str(ideas[0]), "_csrf_token": _token(client, central)},
        follow_redirects=False,
    )
    assert marked.status_code in (302, 303)
    thread = client.get(f"/ideas/{copy}", params={"after": app.position()}).text
    assert "a duplicate of" in thread
    assert "Not a duplicate after all" in thread


def test_a_reply_naming_no_comment_is_refused_with_a_notice(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Walking meetings")
    _as(client, ada)
    thread = f"/ideas/{idea}"
    token = _token(client, f"{thread}?after={app.position()}")  # once the idea is projected
    answer = client.post(
        f"{thread}/comments",
        data={"body": "Yes", "parent_id": "not-a-uuid", "_csrf_token": token},
        headers={"referer": thread},
        follow_redirects=False,
    )
    assert answer.status_code in (302, 303)
    assert "notice=" in answer.headers["location"]


def _notice_of(html: str) -> str:
    return html.split('<p class="notice" role="alert"')[1].split("</p>")[0]


def _done_of(html: str) -> str:
    """What a page says was done (calmly, as a status rather than an alert)."""
    return html.split('<p class="notice done" role="status">')[1].split("</p>")[0]


def test_a_thread_says_how_long_the_jam_stays_open(site, clock):
    # Someone writing a comment in the last minutes was told only on the jam's page.
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    _as(client, ada)
    thread = client.get(f"/ideas/{idea}", params={"after": app.position()}).text
    jam = client.get(f"/api/jams/{scene.jam_id}").json()
    assert (
        f'<p class="muted" data-deadline="{jam["ends_at"]}" data-before="Open now: {{}} left."'
        ' data-after="This jam is closed.">Open now: 72 h 0 min left.</p>'
    ) in thread
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    closed = client.get(f"/ideas/{idea}", params={"after": app.position()}).text
    assert "data-deadline" not in closed
    assert "left.</p>" not in closed


def test_central_and_the_shortlist_show_what_a_form_sent_back_and_central_the_schedule(site):
    client, _, scene = site
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    refused = client.post(
        f"/jams/{scene.jam_id}/schedule",
        data={"ends_at": "someday", "_csrf_token": _token(client, central)},
        headers={"referer": central},
    )
    assert "Give the new end as" in _notice_of(refused.text)
    schedule = refused.text.split("<h2>Schedule</h2>")[1]
    assert "Open now: 72 h 0 min left." in schedule
    jam = client.get(f"/api/jams/{scene.jam_id}").json()
    assert f"Starts {jam['starts_at'][:16].replace('T', ' ')} UTC" in schedule
    assert f"ends {jam['ends_at'][:16].replace('T', ' ')} UTC" in schedule
    shortlist = f"/jams/{scene.jam_id}/leadership"
    # A link from elsewhere cannot make our page say something in its alert box.
    forged = client.get(shortlist, params={"notice": "Session expired: mail us your code"})
    assert 'role="alert"' not in forged.text
    text, secret = "<b>already pinned</b>", client.app.state.secret
    signed = {"notice": text, "ns": notice_signature(secret, text, shortlist, scene.organizer)}
    shown = client.get(shortlist, params=signed).text
    assert "&lt;b&gt;already pinned&lt;/b&gt;" in _notice_of(shown)
    # A notice is for the page and the person it was made for: one someone provoked for
    # themselves (messages may repeat what they typed) says nothing to anyone else.
    someone = scene.join()
    theirs = {"notice": text, "ns": notice_signature(secret, text, shortlist, someone)}
    assert 'role="alert"' not in client.get(shortlist, params=theirs).text
    elsewhere = {"notice": text, "ns": notice_signature(secret, text, "/", scene.organizer)}
    assert 'role="alert"' not in client.get(shortlist, params=elsewhere).text
    # Nor can a signed refusal be shown as something done.
    calmed = client.get(shortlist, params={**signed, "nk": "done"}).text
    assert 'class="notice' not in calmed


def test_organizers_forms_on_central_say_what_they_did(site, clock):
    client, _, scene = site
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"

    def send(path: str, **data: str) -> str:
        data["_csrf_token"] = _token(client, central)
        return client.post(path, data=data, headers={"referer": central}).text

    later = (clock.now + timedelta(days=4)).astimezone(UTC).replace(tzinfo=None)
    extended = send(f"/jams/{scene.jam_id}/schedule", ends_at=later.isoformat()[:16])
    assert _done_of(extended) == f"The jam now ends {later:%Y-%m-%d %H:%M} UTC."
    alert = send(f"/jams/{scene.jam_id}/alert", message="Voting closes at noon")
    assert _done_of(alert) == "The alert is shown on every page of the jam."
    assert _done_of(send(f"/jams/{scene.jam_id}/alert", message="")) == "The alert is down."
    idea = scene.post_idea(scene.join(), title="Rooftop gardens")
    hidden = send(f"/ideas/{idea}/moderation", action="hide", reason="off topic")
    assert _done_of(hidden) == "The idea is hidden."
    assert 'role="alert"' not in hidden
    mistyped = send(f"/ideas/{idea}/moderation", action="restor", reason="typo")
    assert "Choose to hide, restore or dismiss" in _notice_of(mistyped)
    assert "The idea is restored." not in mistyped
    for edge in ("9999-12-31T23:59-05:00", "0001-01-01T00:00+05:00"):  # no UTC time
        beyond = send(f"/jams/{scene.jam_id}/schedule", ends_at=edge)
        assert 'role="alert"' in beyond
    header = client.get(central).text.split("</header>")[0]
    assert f'<a href="/jams/{scene.jam_id}">The jam</a>' in header  # back from Central


def test_the_shortlist_as_of_form_means_now_when_empty_and_keeps_the_vote_choice(site):
    client, app, scene = site
    scene.post_idea(scene.join(), title="Rooftop gardens")
    _as(client, scene.join(role="leader"))
    page = f"/jams/{scene.jam_id}/leadership"
    shown = client.get(page, params={"after": app.position(), "clean": "false"}).text
    form = shown.split('<form class="inline" method="get"')[1].split("</form>")[0]
    action = form.split('action="')[1].split('"')[0]
    assert '<input type="hidden" name="clean" value="false">' in form
    assert "[+-]" not in form  # not a regular expression in Chromium's v mode
    now = client.get(action, params={"clean": "false", "as_of": ""}, follow_redirects=False)
    assert now.headers["location"] == f"{page}?clean=false"
    assert client.get(now.headers["location"]).status_code == 200
    at = client.get(action, params={"clean": "true", "as_of": "2030-05-01T08:30"})
    assert at.url.params["as_of"] == "2030-05-01T08:30:00+00:00"  # no zone: UTC
    assert at.url.params["clean"] == "true"
    bad = client.get(action, params={"as_of": "yesterday"})
    assert bad.status_code == 200
    assert "Give the time as" in _notice_of(bad.text)


def test_a_page_signed_out_leads_to_signing_in_and_back(site):
    client, app, scene = site
    central = f"/jams/{scene.jam_id}/central"
    idea = f"/ideas/{scene.post_idea(scene.join())}"
    paths = ("/me", central, f"/jams/{scene.jam_id}/leadership", f"/jams/{scene.jam_id}", idea)
    for path in paths:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code in (302, 303), path
        assert answer.headers["location"].startswith("/?notice=Sign+in"), path
        assert f"next={quote(path, safe='')}" in answer.headers["location"], path
    home = client.get(f"/?next={quote(central)}").text
    assert f'<input type="hidden" name="next" value="{central}">' in home
    # A form sent signed out is said not to have been sent (not "to see that page").
    sent = client.post(
        f"{idea}/comments",
        data={"body": "Hello", "_csrf_token": _token(client, "/")},
        headers={"referer": f"{client.base_url}{idea}"},
    )
    assert "You were signed out, so that was not sent." in _notice_of(sent.text)
    code = uuid4().hex
    app.handle(c.IssueInvite(code=code, role="organizer", segment="employee", jam_id=scene.jam_id))
    signed_in = client.post(
        "/signin",
        data={
            "invite_code": code,
            "display_name": "Oz",
            "next": central,
            "_csrf_token": _token(client, "/"),
        },
    )
    assert signed_in.status_code == 200
    assert str(signed_in.url).endswith(central)
    assert "Jam Central: InnovationJam" in signed_in.text
    # Browsers drop tabs and newlines from an address and read "\\" as "/": each of these
    # would lead to another site.
    elsewhere = ("https://evil.example/", "//evil.example/", "/\t/evil.example", "/\\evil.example")
    for there in (*elsewhere, "/\n/evil.example", "/\r/evil.example"):
        answer = client.get("/", params={"next": there}, follow_redirects=False)
        assert answer.headers["location"].startswith("/jams/"), there  # not followed


def test_page_errors_are_pages_with_their_status_and_a_way_back(site):
    client, _app, scene = site
    ada = scene.join()
    _as(client, ada)
    pages = {
        f"/jams/{scene.jam_id}/central": (403, "Only organizers"),
        f"/ideas/{uuid4()}": (404, "There is no such idea: the link may be mistyped"),
        f"/jams/{scene.jam_id}?forum=BAD": (422, "takes a-z, 0-9 and -"),
    }
    for path, (status, says) in pages.items():
        answer = client.get(path, headers={"referer": f"{client.base_url}/me"})
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "<h1>" in answer.text, path
        assert says in answer.text, path
        assert '<a href="/me">← Go back</a>' in answer.text, path
        assert "script-src 'self'" in answer.headers["content-security-policy"], path
    # A path no route answers: a page for a browser, JSON for the API's clients.
    page = client.get("/nowhere", headers={"accept": "text/html,application/xhtml+xml"})
    assert (page.status_code, page.headers["content-type"][:9]) == (404, "text/html")
    assert "<h1>" in page.text
    assert "There is no page at this address" in page.text  # not litestar's "Not Found"
    bad_id = client.get("/ideas/not-a-uuid", headers={"accept": "text/html"})
    assert "There is no page at this address" in bad_id.text
    api = client.get("/api/nowhere", headers={"accept": "text/html"})
    assert (api.status_code, api.json()["error"]) == (404, "not_found")


def test_a_forms_address_opened_as_a_page_says_so_and_leads_to_the_forms_page(site):
    # /me/personal-code stays in the address bar after making a code: opened again (a
    # restored tab, a bookmark) it said "Method Not Allowed", the framework's words.
    client, _app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    _as(client, scene.join(name="Bea"))
    central = f"/jams/{scene.jam_id}/central"
    for path, back in (
        ("/me/personal-code", "/me"),
        (f"/ideas/{idea}/vote", f"/ideas/{idea}"),
        (f"/jams/{scene.jam_id}/forums", central),  # Jam Central's form, not the jam page
        (f"/jams/{scene.jam_id}/ideas", f"/jams/{scene.jam_id}"),
        (f"/comments/{uuid4()}/edit", "/"),  # no page at /comments/{id}: home
        ("/signin/personal", "/"),
    ):
        page = client.get(path, headers={"accept": "text/html"})
        assert page.status_code == 405, path
        assert "<h1>Not a page</h1>" in page.text, path
        assert "it has no page to show" in page.text, path
        assert "Method Not Allowed" not in page.text, path
        assert f'<a href="{back}">← Go back</a>' in page.text, path


def test_a_fault_of_ours_is_a_500_page_and_its_traceback_is_logged(site, monkeypatch, caplog):
    client, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    _as(client, scene.join(name="Bea"))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(queries, "thread", broken)
    with caplog.at_level("ERROR", logger="openjam.errors"):
        page = client.get(f"/ideas/{idea}", params={"after": app.position()})
        api = client.get(f"/api/ideas/{idea}")
    assert page.status_code == 500
    assert "<h1>" in page.text
    assert "has been logged" in page.text
    assert (api.status_code, api.json()["error"]) == (500, "internal")
    logged = [r for r in caplog.records if r.name == "openjam.errors"]
    assert len(logged) == 2
    assert all(r.exc_info and "a bug" in str(r.exc_info[1]) for r in logged)


def test_a_jams_pages_are_for_the_people_invited_to_it(site, clock):
    client, app, scene = site
    idea = scene.post_idea(scene.join(), title="Ours")
    outsider = open_jam(app, clock).join()
    _as(client, outsider)
    for path in (f"/jams/{scene.jam_id}", f"/ideas/{idea}"):
        answer = client.get(path, params={"after": app.position()})
        assert answer.status_code == 403, path
        assert "Only the people invited to this jam" in answer.text, path  # a sentence
        assert "Ours" not in answer.text, path


def test_an_office_signs_in_through_the_form_from_one_address(tmp_path, clock):
    # Only a refused code counts against the address: six colleagues behind one NAT all
    # get in with a limit of two writes a minute; a wrong code still counts.
    app = JamApplication(Settings(data_dir=tmp_path / "var", writes_per_minute=2), clock=clock)
    scene = open_jam(app, clock)
    app.handle(c.IssueInvite(code="OFFICE", role="participant", jam_id=scene.jam_id, uses=10))
    with TestClient(create_app(app.settings, jam=app)) as client:

        def sign_in(code: str, name: str):
            client.cookies.clear()
            form = {"invite_code": code, "display_name": name, "_csrf_token": _token(client, "/")}
            return client.post("/signin", data=form, follow_redirects=False)

        answers = [sign_in("OFFICE", f"P{n}") for n in range(6)]
        assert all(f"{SESSION_COOKIE}=" in a.headers.get("set-cookie", "") for a in answers)
        guesses = [sign_in("GUESS", "Eve").status_code for _ in range(3)]
        assert guesses == [302, 302, 429]
    app.close()


def test_too_many_form_posts_get_a_page_saying_so(tmp_path, clock):
    app = JamApplication(Settings(data_dir=tmp_path / "var", writes_per_minute=1), clock=clock)
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        _as(client, scene.join())
        page = f"/jams/{scene.jam_id}"
        form = {"forum": "health", "title": "T", "body": "B", "_csrf_token": _token(client, page)}
        client.post(f"{page}/ideas", data=form)
        refused = client.post(f"{page}/ideas", data=form)
        assert refused.status_code == 429
        assert "Slow down" in refused.text
        assert refused.headers["retry-after"]
    app.close()


def test_a_hidden_idea_says_it_was_hidden_by_an_organizer(site):
    client, app, scene = site
    ada = scene.join()
    idea = scene.post_idea(ada, title="Cheap watches")
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="spam"))
    _as(client, scene.join())
    answer = client.get(f"/ideas/{idea}", params={"after": app.position()})
    assert answer.status_code == 404
    assert "hidden by an organizer" in answer.text
    assert "no idea with id" not in answer.text
    _as(client, scene.organizer)
    assert "Cheap watches" in client.get(f"/ideas/{idea}").text


def test_an_author_reads_their_own_hidden_idea_read_only_and_nobody_else_does(site):
    client, app, scene = site
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea")
    idea = scene.post_idea(ada, title="Cheap watches", body="From my cousin's shop.")
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    said = app.handle(c.PostComment(actor=bea, comment_id=uuid4(), idea_id=idea, body="Hm"))
    rude = app.handle(c.PostComment(actor=bea, comment_id=uuid4(), idea_id=idea, body="Ugh"))
    app.handle(c.HideComment(actor=scene.organizer, comment_id=rude.id, reason="rude"))
    # Bea reads it first, so that her kind of reader's rendering is kept...
    _as(client, bea)
    assert client.get(f"/ideas/{idea}", params={"after": app.position()}).status_code == 200
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="advertising"))
    # ...and once it is hidden, Bea (a reader of Ada's kind) is told so, before and after Ada.
    assert client.get(f"/ideas/{idea}", params={"after": app.position()}).status_code == 404
    _as(client, ada)
    page = client.get(f"/ideas/{idea}", params={"after": app.position()})
    assert page.status_code == 200
    assert "An organizer hid your idea: advertising." in page.text
    assert "From my cousin&#39;s shop." in page.text
    assert "Hm" in page.text
    assert "Hidden by an organizer." in page.text
    assert "Ugh" not in page.text  # still hidden from her
    assert "rude" not in page.text
    # Read only: no form to comment, reply, edit, vote or flag; the page still follows live.
    article = page.text.split("<article")[1]
    assert "<form" not in article.split("</article>")[1].split("</main>")[0]
    for action in ("/comments", "/edit", "/vote", "/flags", "/decision", "/moderation"):
        assert f'action="/ideas/{idea}{action}"' not in page.text, action
    assert f'action="/comments/{said.id}/edit"' not in page.text
    assert "data-stream=" in page.text
    _as(client, bea)
    assert client.get(f"/ideas/{idea}").status_code == 404
    _as(client, scene.organizer)
    assert "Cheap watches" in client.get(f"/ideas/{idea}").text
    # Restored: Ada's thread is hers to write in again, and nobody is told it is hidden.
    app.handle(c.RestoreIdea(actor=scene.organizer, idea_id=idea, reason="a real shop"))
    _as(client, ada)
    page = client.get(f"/ideas/{idea}", params={"after": app.position()})
    assert "hid your idea" not in page.text
    assert f'action="/ideas/{idea}/edit"' in page.text


def test_an_authors_hidden_idea_read_first_is_kept_for_no_other_reader(site):
    client, app, scene = site
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea")
    idea = scene.post_idea(ada, title="Cheap watches")
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="advertising"))
    # Ada's read comes first: nothing of it is kept for the next reader of her kind.
    _as(client, ada)
    assert client.get(f"/ideas/{idea}", params={"after": app.position()}).status_code == 200
    _as(client, bea)
    assert client.get(f"/ideas/{idea}").status_code == 404
    assert client.get(f"/api/ideas/{idea}").status_code == 404


def test_the_jam_page_pages_through_its_ideas_keeping_forum_and_sort(site, clock):
    client, app, scene = site
    ada = scene.join()
    _as(client, ada)
    for n in range(230):
        clock.advance(timedelta(seconds=1))  # newest first, in the order posted
        scene.post_idea(ada, title=f"Idea number {n:03d}")
    page = f"/jams/{scene.jam_id}"
    first = client.get(page, params={"after": app.position(), "forum": "future-of-work"}).text
    assert "Idea number 229" in first
    assert "Idea number 129" not in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert older == "?forum=future-of-work&amp;sort=new&amp;offset=100"
    second = client.get(page + older.replace("&amp;", "&")).text
    assert "Idea number 129" in second
    assert "Idea number 229" not in second
    third = client.get(page, params={"forum": "future-of-work", "offset": 200}).text
    assert "Idea number 000" in third
    assert 'rel="next"' not in third
    assert 'href="?forum=future-of-work&amp;sort=new&amp;offset=100" rel="prev"' in third
    assert client.get(page, params={"offset": -1}).status_code == 422


def test_only_someone_who_may_post_in_this_jam_sees_the_idea_form(site, clock):
    client, app, scene = site
    other = open_jam(app, clock)
    page = f"/jams/{scene.jam_id}"
    _as(client, other.join())
    assert "Post an idea" not in client.get(page).text
    _as(client, scene.join())
    assert "Post an idea" in client.get(page).text
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    assert "Post an idea" not in client.get(page, params={"after": app.position()}).text


def test_long_unbroken_text_wraps_inside_the_column(site):
    client, _, _ = site
    css = client.get("/static/openjam.css").text
    wrapped = next(line for line in css.splitlines() if "overflow-wrap: anywhere" in line)
    selectors = {s.strip() for s in wrapped.split("{")[0].split(",")}
    assert {"h1", "p", "li", "td", "dd", ".body-text"} <= selectors  # titles, bodies, comments


def test_signing_out_forgets_the_session(site):
    client, _, scene = site
    _as(client, scene.join(name="Ada"))
    shown = client.get(f"/jams/{scene.jam_id}")
    # Never cached: Back after signing out (a shared computer) fetches it again, signed out.
    assert shown.headers["cache-control"] == "no-store"
    page = shown.text
    assert 'action="/signout"' in page.split("</header>")[0]
    # Without a personal code there is no way back as oneself: asked first, not signed out.
    asked = client.post(
        "/signout", data={"_csrf_token": _token(client, "/me")}, follow_redirects=False
    )
    # On a page of its own (a GET): Back to it later asks to send no form again.
    assert (asked.status_code, asked.headers["location"]) == (302, "/signout")
    assert "set-cookie" not in asked.headers
    asked = client.get("/signout")
    assert "you cannot come back as Ada" in asked.text
    assert 'action="/me/personal-code"' in asked.text
    assert asked.headers["cache-control"] == "no-store"
    out = client.post(
        "/signout",
        data={"confirm": "yes", "_csrf_token": _token(client, "/me")},
        follow_redirects=False,
    )
    assert out.status_code in (302, 303)
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
    assert "Max-Age=0" in out.headers["set-cookie"]
    kept = client.cookies.get(SESSION_COOKIE)  # a copy someone took before
    client.cookies.delete(SESSION_COOKIE)  # as the browser does on Max-Age=0
    copied = client.get(
        f"/api/jams/{scene.jam_id}/ideas", headers={"Authorization": f"Bearer {kept}"}
    )
    assert copied.status_code == 401  # the session ended, not only this browser's cookie
    assert 'action="/signout"' not in client.get("/").text
    assert client.post("/signout", data={}).status_code == 403  # CSRF
    # Back to "Before you sign out", signed out: nothing to warn of, the home page.
    assert client.get("/signout", follow_redirects=False).headers["location"] == "/"


def test_a_personal_code_made_on_my_page_signs_back_in_after_signing_out(site):
    client, _, scene = site
    _as(client, scene.join(name="Ada Back"))
    mine = client.get("/me").text
    assert mine.split("<title>")[1].split("</title>")[0] == "My activity · OpenJam"
    assert 'action="/me/personal-code"' in mine
    form = {
        "_csrf_token": mine.split('name="_csrf_token" value="')[1].split('"')[0],
        "request_key": mine.split('name="request_key" value="')[1].split('"')[0],
    }
    made = client.post("/me/personal-code", data=form)
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    code = made.text.split('<code id="personal-code">')[1].split("<")[0]
    # A reload sends the form again: the same code, still the one that works.
    assert code in client.post("/me/personal-code", data=form).text
    assert made.text.count('action="/signout"') == 2  # the header's, and one to go on with
    # Both replace this page in the history (the script): Back sends no form again.
    assert made.text.count('action="/signout" data-replace>') == 2
    assert client.post("/me/personal-code", data={}).status_code == 403  # CSRF
    out = client.post(
        "/signout", data={"_csrf_token": _token(client, "/me")}, follow_redirects=False
    )
    client.cookies.delete(SESSION_COOKIE)  # as the browser does on Max-Age=0
    home = client.get(out.headers["location"]).text
    assert "personal code" in _done_of(home)
    assert 'action="/signin/personal"' in home
    central = f"/jams/{scene.jam_id}"
    wrong = client.post(
        "/signin/personal",
        data={"personal_code": "nope", "next": central, "_csrf_token": _token(client, "/")},
    )
    assert "personal code signs no one in" in _notice_of(wrong.text)
    assert "<details open>" in wrong.text  # its form open again, not the invite form alone
    assert "Ada Back" not in wrong.text
    back = client.post(
        "/signin/personal",
        data={"personal_code": code, "next": central, "_csrf_token": _token(client, "/")},
    )
    assert str(back.url).endswith(central)
    assert "Ada Back" in back.text.split("</header>")[0]


def test_replying_to_a_comment_and_flagging_an_idea_from_the_thread_page(site):
    client, app, scene = site
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea")
    idea = scene.post_idea(ada, title="Walking meetings")
    first = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    _as(client, bea)
    thread = f"/ideas/{idea}"
    html = client.get(thread, params={"after": app.position()}).text
    assert f'name="parent_id" value="{first.id}"' in html
    replied = client.post(
        f"{thread}/comments",
        data={"body": "Agreed", "parent_id": str(first.id), "_csrf_token": _token(client, thread)},
        headers={"referer": thread},
    )
    nested = replied.text.split(f'id="c-{first.id}"')[1]
    assert (
        '<p class="body-text" dir="auto">Agreed</p>' in nested
    )  # shown at once, after the comment it answers
    shown = client.get(f"/api/ideas/{idea}").json()
    assert shown["comments"][0]["replies"][0]["body"] == "Agreed"
    flagged = client.post(
        f"{thread}/flags",
        data={"reason": "off topic", "_csrf_token": _token(client, thread)},
        headers={"referer": thread},
    )
    assert "organizers will look" in _done_of(flagged.text)
    # Flagged once: said instead of a form whose second flag would be refused, until an
    # organizer has reviewed the flags.
    again = client.get(thread).text
    assert "flag-idea" not in again
    assert "You have flagged this idea" in again
    _as(client, ada)  # the author edits an idea instead of flagging it
    assert "flag-idea" not in client.get(thread).text
    _as(client, scene.organizer)
    queue = client.get(f"/api/jams/{scene.jam_id}/moderation", params={"after": app.position()})
    assert "off topic" in queue.text
    app.handle(c.DismissFlags(actor=scene.organizer, idea_id=idea, reason="fine"))
    _as(client, bea)  # reviewed: the idea takes a new flag from Bea
    assert "flag-idea" in client.get(thread, params={"after": app.position()}).text


def _form_key(html: str) -> str:
    return html.split('name="key" value="')[1].split('"')[0]


def test_a_form_sent_twice_creates_one_idea_and_one_comment(site):
    # A reload after posting, the back button, a second click: the form's key makes the
    # second sending a repeat of the first.
    client, app, scene = site
    _as(client, scene.join())
    jam_page = f"/jams/{scene.jam_id}"
    shown = client.get(jam_page, params={"after": app.position()}).text
    form = {
        "forum": "health",
        "title": "Standing desks",
        "body": "For everyone",
        "key": _form_key(shown),
        "_csrf_token": _token(client, jam_page),
    }
    first = client.post(f"{jam_page}/ideas", data=form, follow_redirects=False)
    end = app.position()
    again = client.post(f"{jam_page}/ideas", data=form, follow_redirects=False)
    idea_page = first.headers["location"].split("?")[0]
    assert again.headers["location"].split("?")[0] == idea_page
    assert app.position() == end  # nothing new written
    thread = client.get(idea_page, params={"after": end}).text
    comment = {
        "body": "Mine too",
        "key": _form_key(thread.split(f'action="{idea_page}/comments"')[-1]),
        "_csrf_token": _token(client, idea_page),
    }
    for _ in range(2):
        client.post(f"{idea_page}/comments", data=comment, headers={"referer": idea_page})
    assert client.get(idea_page).text.count('<p class="body-text" dir="auto">Mine too</p>') == 1
    # Back to the page as it was, with its key, and another idea or comment typed: a new
    # one, not a refusal about a reused key.
    other = client.post(
        f"{jam_page}/ideas", data={**form, "title": "Quiet rooms"}, follow_redirects=False
    )
    assert other.is_redirect, other.text
    assert other.headers["location"].split("?")[0] not in (idea_page, jam_page)
    replied = client.post(
        f"{idea_page}/comments", data={**comment, "body": "And mine"}, follow_redirects=False
    )
    assert "notice" not in replied.headers["location"], replied.headers["location"]
    assert (
        '<p class="body-text" dir="auto">And mine</p>'
        in client.get(idea_page, params={"after": app.position()}).text
    )


def test_back_to_the_jam_page_and_the_same_idea_sent_again_posts_it_once(site):
    # Back after posting fetches the jam page again (pages are never stored by the
    # browser) and the browser puts the typed idea back: a key drawn afresh at each
    # rendering made the second sending a second idea.
    client, app, scene = site
    _as(client, scene.join(name="Ada"))
    jam_page = f"/jams/{scene.jam_id}"
    idea = {"forum": "health", "title": "Standing desks", "body": "For everyone"}
    places = set()
    for _ in range(2):  # a rendering each time, as after Back
        shown = client.get(jam_page, params={"after": app.position()}).text
        form = {**idea, "key": _form_key(shown), "_csrf_token": _token(client, jam_page)}
        sent = client.post(f"{jam_page}/ideas", data=form, follow_redirects=False)
        places.add(sent.headers["location"].split("?")[0])
    assert len(places) == 1
    # The second is said to have posted nothing new, on the idea's page.
    assert "You posted this idea already: nothing new was posted." in _done_of(
        client.get(sent.headers["location"]).text
    )
    listed = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"after": app.position()})
    assert [i["title"] for i in listed.json()].count("Standing desks") == 1
    # Another reader's form has a key of its own: the same words from them are their idea.
    _as(client, scene.join(name="Bea"))
    assert _form_key(client.get(jam_page).text) != form["key"]


def test_closing_a_jam_from_central_asks_for_confirmation(site):
    client, app, scene = site
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    form = {"close": "yes", "reason": "done", "_csrf_token": _token(client, central)}
    refused = client.post(f"/jams/{scene.jam_id}/schedule", data=form, headers={"referer": central})
    assert "Tick the box to confirm" in _notice_of(refused.text)
    assert client.get(f"/api/jams/{scene.jam_id}").json()["closed_at"] is None
    closed = client.post(
        f"/jams/{scene.jam_id}/schedule",
        data={**form, "confirm": "yes"},
        headers={"referer": central},
    )
    assert closed.status_code == 200
    assert client.get(f"/api/jams/{scene.jam_id}", params={"after": app.position()}).json()[
        "closed_at"
    ]


def test_an_organizer_signed_in_lands_on_their_jams_and_the_jam_status_is_live(site):
    client, app, scene = site
    _as(client, scene.organizer)
    home = client.get("/", params={"after": app.position()}).text
    assert f'href="/jams/{scene.jam_id}/central"' in home
    assert "<summary>Sign in with another invite code</summary>" in home
    jam = client.get(f"/jams/{scene.jam_id}").text
    live = jam.split("<section data-live")[1].split("</section>")[0]
    assert "Open now:" in live  # inside the live region: a close or an extension shows at once
    thread = client.get(f"/ideas/{scene.post_idea(scene.join())}").text
    assert "Why hide it?" not in thread  # no comments yet


def test_a_closed_jams_thread_offers_no_votes_or_comments_but_still_a_flag(site):
    client, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    page = f"/ideas/{idea}"
    _as(client, scene.join(name="Bea"))
    open_page = client.get(page).text
    assert "Add a comment" in open_page
    assert "Support" in open_page
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    closed = client.get(page, params={"after": app.position()}).text
    assert "Add a comment" not in closed
    assert "Support" not in closed
    assert (
        "This jam was closed early: done. Votes, comments and edits are taken while it is open."
        in closed
    )
    assert "Flag this idea" in closed  # the organizers still want to hear of a problem


def test_the_deepest_reply_offers_no_reply_form(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    parent = None
    for _ in range(REPLY_DEPTH_MAX + 1):
        done = app.handle(
            c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes", parent_id=parent)
        )
        parent = done.id
    _as(client, scene.join(name="Bea"))
    page = client.get(f"/ideas/{idea}", params={"after": app.position()}).text
    # Each named by whom it answers: a screen reader lists them side by side.
    assert page.count('<summary aria-label="Reply to Ada">Reply</summary>') == REPLY_DEPTH_MAX
    assert f'id="reply-{parent}"' not in page


def test_a_thread_says_when_its_idea_and_comments_were_edited(site, clock):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    said = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    _as(client, scene.join(name="Bea"))
    page = f"/ideas/{idea}"
    assert "edited" not in client.get(page, params={"after": app.position()}).text
    app.handle(c.EditIdea(actor=ada, idea_id=idea, title="Quiet rooms", body="Bookable ones."))
    app.handle(c.EditComment(actor=ada, comment_id=said.id, body="Yes, please"))
    shown = client.get(page, params={"after": app.position()}).text
    # When, as the page gives times, in a <time> element each.
    at = f'<time datetime="{clock.now.isoformat()[:19]}Z">{clock.now:%Y-%m-%d %H:%M} UTC</time>'
    assert shown.count(f"· edited {at}") == 2
    assert f"(employee) · {at} · edited {at}</span>" in shown  # the comment, posted and edited


def test_a_thread_says_when_its_idea_and_each_comment_were_posted_and_in_which_forum(site, clock):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    clock.advance(timedelta(hours=1, minutes=2, seconds=3))
    said = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    clock.advance(timedelta(minutes=30))
    reply = app.handle(
        c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, parent_id=said.id, body="No")
    )
    _as(client, scene.join(name="Bea"))
    shown = client.get(f"/ideas/{idea}", params={"after": reply.position}).text
    byline = shown.split('<h1 dir="auto">')[1].split("</p>")[0]
    # As the page gives times: to the minute, in UTC, in a <time> element each.
    assert (
        'by Ada (employee) · posted <time datetime="2030-05-01T09:00:00Z">2030-05-01 09:00 UTC'
        f'</time> in <a href="/jams/{scene.jam_id}?forum=future-of-work">The future of work</a>'
    ) in byline
    comment = shown.split(f'<li id="c-{said.id}">')[1].split("</span>")[0]
    assert '· <time datetime="2030-05-01T10:02:03Z">2030-05-01 10:02 UTC</time>' in comment
    answer = shown.split(f'<li id="c-{reply.id}">')[1].split("</span>")[0]
    assert '<time datetime="2030-05-01T10:32:03Z">2030-05-01 10:32 UTC</time>' in answer


def test_links_tallies_and_fields_say_what_they_are_out_of_context(site):
    # A screen reader's list of links or fields reads each without the text around it.
    client, app, scene = site
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea", segment="client")
    idea = scene.post_idea(ada, title="Quiet rooms")
    app.handle(c.CastVote(actor=bea, idea_id=idea, value=1))
    sign_in = client.get("/").text
    assert 'name="display_name" required maxlength="60" autocomplete="nickname"' in sign_in
    _as(client, ada)
    after = {"after": app.position()}
    listed = client.get(f"/jams/{scene.jam_id}", params=after).text
    assert '><span class="visually-hidden">sort by </span>hot</a>' in listed
    thread = client.get(f"/ideas/{idea}").text
    assert (
        'client ▲1<span class="visually-hidden"> in support,</span> ▼0'
        '<span class="visually-hidden"> opposed</span>'
    ) in thread
    mine = client.get("/me").text
    assert '▲1<span class="visually-hidden"> in support,</span> ▼0' in mine
    _as(client, scene.join(name="Lee", role="leader"))
    shortlist = client.get(f"/jams/{scene.jam_id}/leadership", params=after).text
    for what, kind in (("shortlist", "CSV"), ("shortlist", "JSON"), ("topics", "JSON")):
        assert f'<span class="visually-hidden">the {what} as </span>{kind}</a>' in shortlist
    note = f'<label for="n-{idea}">Note<span class="visually-hidden"> on the decision on'
    assert note in shortlist  # seen while typing, not a placeholder that goes
    assert 'placeholder="Note' not in shortlist


def test_counts_are_in_the_right_number_and_a_page_past_the_end_leads_back(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    _as(client, ada)
    page = f"/jams/{scene.jam_id}"
    listed = client.get(page, params={"after": app.position()}).text
    assert "· 1 comment</span>" in listed
    assert '▲0<span class="visually-hidden"> in support,</span> ▼0' in listed  # read out too
    mine = client.get("/me").text
    assert "<p>1 comment, on these ideas (the latest first):</p>" in mine
    assert "<p>0 votes.</p>" in mine
    far = client.get(page, params={"offset": 5000, "sort": "top"}).text
    assert 'No ideas this far: <a href="?sort=top">back to the first page</a>' in far
    assert "5001–5000" not in far


def test_a_hidden_ideas_thread_offers_no_vote_comment_or_flag_only_a_withdrawal(site):
    client, app, scene = site
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea")
    idea = scene.post_idea(ada, title="Loud and rude")
    app.handle(c.CastVote(actor=scene.organizer, idea_id=idea, value=1))
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="rude"))
    _as(client, scene.organizer)
    thread = f"/ideas/{idea}"
    page = client.get(thread, params={"after": app.position()}).text
    for refused in ("Support", "Oppose", "Add a comment", "Flag this idea"):
        assert refused not in page, refused  # each could only be refused
    assert "takes no votes or comments until it is restored" in page
    withdrawn = client.post(
        f"{thread}/vote", data={"value": "0", "_csrf_token": _token(client, thread)}
    )
    assert withdrawn.status_code == 200
    assert "notice" not in withdrawn.text.split("<main ")[1].split("<h1>")[0]  # not refused
    assert app.handle(c.RestoreIdea(actor=scene.organizer, idea_id=idea, reason="ok"))
    _as(client, bea)
    assert "Support" in client.get(thread, params={"after": app.position()}).text


def test_an_originals_thread_links_to_the_ideas_marked_as_its_duplicates(site):
    client, app, scene = site
    ada = scene.join()
    root, copy = scene.post_idea(ada, title="Root idea"), scene.post_idea(ada, title="Its copy")
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=copy, original_id=root))
    _as(client, ada)
    page = client.get(f"/ideas/{root}", params={"after": app.position()}).text
    listed = page.split("Marked as a duplicate of this idea: ")[1].split("</p>")[0]
    assert listed.startswith(
        f'<a href="/ideas/{copy}" dir="auto">Its copy</a>. Its votes count toward'
    )
    # The tally is the idea's own: said so, so it is not read as counting the duplicates.
    assert "this idea's rank on the shortlist (once for anyone who voted on both)" in listed
    assert "the tally below is this idea's own votes." in listed
    other = scene.post_idea(ada, title="Another copy")
    app.handle(c.MarkDuplicate(actor=scene.organizer, idea_id=other, original_id=root))
    page = client.get(f"/ideas/{root}", params={"after": app.position()}).text
    listed = page.split("Marked as duplicates of this idea: ")[1].split("</p>")[0]
    assert f'<a href="/ideas/{other}" dir="auto">Another copy</a>' in listed
    assert "Its copy</a>, <a " in listed or "Another copy</a>, <a " in listed
    assert "</a>. Their votes count toward this idea's rank" in listed
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=root, reason="rude"))
    its = client.get(f"/ideas/{copy}", params={"after": app.position()}).text
    assert "a duplicate of an idea an organizer has since hidden" in its
    assert f'href="/ideas/{root}"' not in its  # no link to a page this reader cannot see


def test_a_thread_shows_my_vote_and_a_write_comes_back_to_where_it_shows(site):
    client, _, scene = site
    idea = scene.post_idea(scene.join(), title="Quiet rooms")
    _as(client, scene.join(name="Bea"))
    thread = f"/ideas/{idea}"
    before = client.get(thread).text
    assert "You have not voted." in before
    assert "Withdraw vote" not in before  # nothing to withdraw
    voted = client.post(
        f"{thread}/vote",
        data={"value": "1", "_csrf_token": _token(client, thread)},
        follow_redirects=False,
    )
    assert voted.headers["location"].endswith("#votes")  # back at the votes, not the top
    page = client.get(voted.headers["location"].split("#")[0]).text
    assert "Your vote: support it." in page
    assert 'aria-pressed="true">Support ✓</button>' in page  # chosen; pressing again: nothing
    assert "Withdraw vote" in page
    commented = client.post(
        f"{thread}/comments",
        data={"body": "Yes please", "key": "k1", "_csrf_token": _token(client, thread)},
        follow_redirects=False,
    )
    target = commented.headers["location"]
    comment_id = target.split("#c-")[1]
    assert f'<li id="c-{comment_id}"' in client.get(target.split("#")[0]).text


def test_organizers_block_an_ideas_author_from_the_thread_page(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Cheap watches")
    _as(client, scene.organizer)
    thread = f"/ideas/{idea}"
    page = client.get(thread, params={"after": app.position()}).text
    assert f'action="/participants/{ada}/moderation"' in page
    blocked = client.post(
        f"/participants/{ada}/moderation",
        data={"action": "block", "reason": "spam", "_csrf_token": _token(client, thread)},
        headers={"referer": f"{client.base_url}{thread}"},
    )
    assert _done_of(blocked.text) == "Blocked: they can read, no longer write."
    with pytest.raises(DomainError):
        scene.post_idea(ada, title="More watches")
    now = client.get(thread, params={"after": app.position()}).text
    offered = now.split('<details class="block-author">')[1].split("</details>")[0]
    assert "Ada is blocked: unblock" in offered  # what the author's state is, and its one way
    assert 'value="unblock"' in offered
    assert 'value="block"' not in offered
    assert "required" not in offered  # unblocking needs no reason
    unblocked = client.post(
        f"/participants/{ada}/moderation",
        data={"action": "unblock", "reason": "", "_csrf_token": _token(client, thread)},
        headers={"referer": f"{client.base_url}{thread}"},
    )
    assert _done_of(unblocked.text) == "Unblocked: they can write again."
    assert "Block Ada" in unblocked.text
    _as(client, scene.join(name="Bea"))
    assert "block-author" not in client.get(thread).text  # organizers only


def test_a_blocked_participant_is_told_why_there_are_no_forms(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(scene.join(name="Bea"), title="Walking meetings")
    app.handle(c.BlockParticipant(actor=scene.organizer, participant_id=ada, reason="spam"))
    _as(client, ada)
    after = {"after": app.position()}
    for page in (f"/jams/{scene.jam_id}", f"/ideas/{idea}"):
        html = client.get(page, params=after).text
        assert "An organizer has blocked you from posting, commenting, voting and flagging" in (
            html
        ), page
        # No form that would be refused: each is there hidden, for the page's script to
        # show should they be unblocked while it is open.
        main = html.split("<main")[1]
        shown = re.sub(r"<(form|details)[^>]* hidden data-shut>.*?</\1>", "", main, flags=re.S)
        assert shown != main, page
        assert 'action="/ideas/' not in shown, page
        assert f'action="/jams/{scene.jam_id}/ideas"' not in shown, page
        assert "data-shut-notice" in html, page
        assert "data-writes-closed" in html  # and an open page of theirs learns it live
    _as(client, scene.join(name="Cy"))
    assert "has blocked you" not in client.get(f"/ideas/{idea}").text


def test_the_idea_form_chooses_no_forum_for_the_reader_but_keeps_the_one_being_read(site):
    client, app, scene = site
    _as(client, scene.join(name="Ada"))
    jam = f"/jams/{scene.jam_id}"
    everywhere = client.get(jam, params={"after": app.position()}).text
    assert '<select id="forum" name="forum" required>' in everywhere
    assert '<option value="" selected disabled>Choose a forum</option>' in everywhere
    in_forum = client.get(jam, params={"forum": "health"}).text
    assert "Choose a forum" not in in_forum
    assert '<option value="health" selected>' in in_forum
    # Its banner of new ideas leads to the newest of the forum being read.
    assert f'data-newest="/jams/{scene.jam_id}?forum=health&amp;sort=new"' in in_forum
    client.cookies.clear()  # signed out: the sign-in form keeps what was typed if refused
    signing_in = '<form class="stack" method="post" action="/signin" data-keep data-said-above>'
    assert signing_in in client.get("/").text


def test_the_activity_chart_places_minutes_by_time_and_leaves_out_the_one_under_way():
    def minute(at: str, votes: int) -> MinuteActivity:
        return MinuteActivity(at, 0, 0, votes, 0)

    busy = [minute("2030-05-02T10:00", 5), minute("2030-05-02T10:03", 5)]
    busy.append(minute("2030-05-02T10:05", 1))  # under way at 10:05:30
    now = datetime(2030, 5, 2, 10, 5, 30, tzinfo=UTC)
    chart = activity_chart(SimpleNamespace(minutes=busy), now, width=5)
    heights = [float(p.split(",")[1]) for p in chart["votes"].split()]
    assert heights == [5.0, 100.0, 100.0, 5.0, 100.0]  # quiet minutes are zeros, in place
    assert (chart["from"], chart["to"]) == ("2030-05-02 10:00", "2030-05-02 10:04")
    later = activity_chart(SimpleNamespace(minutes=busy), now + timedelta(days=3), width=5)
    assert later["to"] == "2030-05-02 10:05"  # a jam long quiet: its last busy stretch


def test_the_activity_chart_starts_no_earlier_than_the_jam():
    start = datetime(2030, 5, 2, 10, 0, tzinfo=UTC)
    busy = [MinuteActivity("2030-05-02T10:03", 0, 0, 4, 0)]
    young = activity_chart(
        SimpleNamespace(minutes=busy), start + timedelta(minutes=10, seconds=30), 240, start
    )
    # Ten whole minutes since the start, drawn over the least width (30), not stretched.
    assert (young["from"], young["to"], young["from_start"]) == (
        "2030-05-02 10:00",
        "2030-05-02 10:09",
        True,
    )
    assert young["width"] == 30
    points = young["votes"].split()
    assert len(points) == 10
    assert points[3] == f"{3 * 30 / 29:.1f},5.0"
    older = activity_chart(SimpleNamespace(minutes=[]), start + timedelta(hours=5), 240, start)
    assert (older["width"], older["from"], older["from_start"]) == (240, "2030-05-02 11:00", False)
    grown = activity_chart(SimpleNamespace(minutes=busy), start + timedelta(minutes=90), 240, start)
    assert (grown["width"], len(grown["votes"].split())) == (90, 90)
    soon = activity_chart(SimpleNamespace(minutes=[]), start - timedelta(minutes=5), 240, start)
    assert (soon["from"], soon["to"], soon["votes"]) == ("2030-05-02 10:00", "", "")


def test_jam_central_labels_its_chart_from_the_jams_start(site, clock):
    client, _, scene = site
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    start = clock.now.strftime("%Y-%m-%d %H:%M")
    assert (
        f"begins at the jam's start, {start} UTC, once its first minute" in client.get(central).text
    )
    clock.advance(timedelta(minutes=12))
    page = client.get(central).text
    assert f"{start} (the jam's start) to " in page
    assert 'viewBox="0 0 30 100"' in page


def _chart_of(page: str) -> str:
    return page.split("<h2>Activity per minute</h2>")[1].split("<h2>")[0]


def test_jam_centrals_chart_gives_its_figures_in_text_and_its_lines_apart_without_colour(
    site, clock
):
    client, app, scene = site
    _as(client, scene.organizer)
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea")
    clock.advance(timedelta(minutes=2, seconds=10))  # in 09:02
    idea = scene.post_idea(ada)
    for voter in (ada, bea, scene.join(name="Cy")):
        app.handle(c.CastVote(actor=voter, idea_id=idea, value=1))
    clock.advance(timedelta(minutes=1))  # in 09:03
    app.handle(c.PostComment(actor=bea, comment_id=uuid4(), idea_id=idea, body="Yes"))
    clock.advance(timedelta(minutes=2))  # 09:05:10: 09:00 to 09:04 are whole minutes
    page = client.get(f"/jams/{scene.jam_id}/central", params={"after": app.position()}).text
    chart = _chart_of(page)
    said = (
        "Votes, comments and ideas per minute, 2030-05-01 09:00 to 2030-05-01 09:04 UTC: "
        "3 votes, 1 comment and 1 idea in all; the peak, 3 votes in a minute, at 09:02 UTC."
    )
    assert f'role="img" aria-label="{said}"' in chart.replace("&#39;", "'")
    assert "blue" not in chart
    assert "green" not in chart
    # Solid, dashed and dotted, in the chart and in its key.
    for dashes in ('class="comments"', 'class="ideas"'):
        line = chart.split(dashes)[1].split("/>")[0]
        assert "stroke-dasharray=" in line, dashes
    assert chart.count("stroke-dasharray=") == 4
    assert 'fill="none"' in chart
    assert 'vector-effect="non-scaling-stroke"' in chart
    figures = chart.split("<summary>The figures</summary>")[1].split("</details>")[0]
    assert "3 votes, 1 comment and 1 idea" in figures
    rows = re.findall(r'<tr><th scope="row">([\d:]+)</th>((?:<td>\d+</td>)+)</tr>', figures)
    assert [(minute, re.findall(r"\d+", cells)) for minute, cells in rows] == [
        ("09:04", ["0", "0", "0"]),  # newest first; votes, comments, ideas
        ("09:03", ["0", "1", "0"]),
        ("09:02", ["3", "0", "1"]),
        ("09:01", ["0", "0", "0"]),
        ("09:00", ["0", "0", "0"]),
    ]
    assert "Peak: 3 votes in a minute, at 09:02." in chart
    assert 'id="chart-figures"' in figures  # kept open across live updates
    clock.advance(timedelta(hours=2))  # at most the last 60 minutes listed
    later = _chart_of(client.get(f"/jams/{scene.jam_id}/central").text)
    assert later.count('<th scope="row">') == 60
    assert "The last 60 minutes, newest first" in later


def test_jam_centrals_chart_draws_a_jams_one_whole_minute(site, clock):
    client, app, scene = site
    _as(client, scene.organizer)
    ada = scene.join()
    idea = scene.post_idea(ada)
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    clock.advance(timedelta(minutes=1, seconds=30))
    chart = _chart_of(
        client.get(f"/jams/{scene.jam_id}/central", params={"after": app.position()}).text
    )
    points = {
        series: chart.split(f'class="{series}"')[1].split('points="')[1].split('"')[0].split()
        for series in ("votes", "comments", "ideas")
    }
    # Each line a stroke across its one minute (a single point draws nothing).
    assert points["votes"] == ["0.0,5.0", f"{30 / 29:.1f},5.0"]
    assert points["ideas"] == ["0.0,5.0", f"{30 / 29:.1f},5.0"]
    assert points["comments"] == ["0.0,100.0", f"{30 / 29:.1f},100.0"]
    assert "Peak: 1 vote in a minute, at 09:00." in chart


def test_jam_centrals_chart_ends_when_the_jam_closed(site, clock):
    client, app, scene = site
    _as(client, scene.organizer)
    scene.post_idea(scene.join())
    clock.advance(timedelta(minutes=47, seconds=20))
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    clock.advance(timedelta(minutes=12))  # 09:59: long after the close, at 09:47:20
    page = client.get(f"/jams/{scene.jam_id}/central", params={"after": app.position()}).text
    chart = _chart_of(page)
    assert "2030-05-01 09:00 (the jam's start) to 2030-05-01 09:47 (the jam's close) UTC" in chart
    assert "09:58" not in chart
    assert "09:50" not in chart
    assert 'viewBox="0 0 48 100"' in chart  # 09:00 to 09:47, no padding past the end
    votes = chart.split('class="votes"')[1].split('points="')[1].split('"')[0].split()
    assert len(votes) == 48
    assert votes[-1].startswith("48.0,")
    # A jam past its end, never closed: up to the minute it ended in.
    ended = activity_chart(
        SimpleNamespace(minutes=[]),
        T0 + timedelta(hours=80),
        starts_at=T0,
        ends_at=T0 + timedelta(hours=72),
    )
    assert (ended["to"], ended["to_end"]) == ("2030-05-04 08:59", "end")


def test_a_chain_of_replies_deeper_than_the_limit_is_shown_flat_below_it():
    # Logged before replies were limited, a chain of hundreds broke the page's template.
    def node(n: int, replies: list) -> CommentNode:
        return CommentNode(f"c{n}", "a", "Ada", "employee", "Yes", "t", None, False, replies)

    chain: list = []
    for n in reversed(range(400)):
        chain = [node(n, chain)]
    shown, depth, order = capped(chain, 3), 0, []
    level = shown
    while level:
        order.extend(c.id for c in level[:1])
        if len(level) > 1:
            order.extend(c.id for c in level[1:])
            assert all(not c.replies for c in level)  # flat below the limit
            break
        level, depth = level[0].replies, depth + 1
    assert depth == 4  # three levels of nesting, then one flat list
    assert order == [f"c{n}" for n in range(400)]


def _comment_form_key(html: str, parent: str = "") -> str:
    """The key of the thread's comment form, or of the reply form under comment `parent`."""
    if parent:
        html = html.split(f'name="parent_id" value="{parent}">')[1]
    else:
        html = html.split('<textarea id="comment"')[0].split("data-open-only")[-1]
    return _form_key(html)


def test_back_to_a_thread_and_the_same_comment_sent_again_posts_it_once(site):
    # The back button may fetch the thread again, with a fresh rendering of its forms, and
    # the browser put the text back: the key of a comment form is the same at each
    # rendering for the same reader and place, so the same text sent again is a repeat.
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    first = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    _as(client, scene.join(name="Bea"))
    thread = f"/ideas/{idea}"
    for parent, body in (("", "Mine too"), (str(first.id), "Agreed")):
        for _ in range(2):  # a rendering each time: the page as fetched again after Back
            shown = client.get(thread, params={"after": app.position()}).text
            form = {"body": body, "key": _comment_form_key(shown, parent)}
            form |= {"parent_id": parent} if parent else {}
            client.post(
                f"{thread}/comments",
                data={**form, "_csrf_token": _token(client, thread)},
                headers={"referer": thread},
            )
        page = client.get(thread, params={"after": app.position()}).text
        assert page.count(f'<p class="body-text" dir="auto">{body}</p>') == 1, body
    # Other words in the same place are another comment.
    shown = client.get(thread).text
    other = {"body": "And mine", "key": _comment_form_key(shown)}
    client.post(f"{thread}/comments", data={**other, "_csrf_token": _token(client, thread)})
    assert (
        '<p class="body-text" dir="auto">And mine</p>'
        in client.get(thread, params={"after": app.position()}).text
    )
    # Another reader's form has a key of its own.
    _as(client, scene.join(name="Cy"))
    assert _comment_form_key(client.get(thread).text) != _comment_form_key(shown)


def test_the_same_words_sent_again_in_one_place_are_said_to_be_there_already(site):
    # A repeat records nothing: the reader is told so, with the comment to go to, also when
    # that comment has been edited since (else the words seem to vanish).
    client, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    bea = scene.join(name="Bea")
    _as(client, bea)
    thread = f"/ideas/{idea}"

    def send(body: str):
        shown = client.get(thread, params={"after": app.position()}).text
        form = {
            "body": body,
            "key": _comment_form_key(shown),
            "_csrf_token": _token(client, thread),
        }
        return client.post(f"{thread}/comments", data=form, headers={"referer": thread})

    first = send("Agreed")
    assert "already" not in first.text
    comment = first.url.fragment.removeprefix("c-")
    again = send("Agreed")
    assert again.url.fragment == f"c-{comment}"
    assert "You posted these same words here already" in _done_of(again.text)
    # Edited since, the words are no longer there: sent again, they are a new comment.
    app.handle(c.EditComment(actor=bea, comment_id=UUID(comment), body="Agreed, with a caveat"))
    anew = send("Agreed")
    assert anew.url.fragment not in ("", f"c-{comment}")
    assert "already" not in anew.text
    page = client.get(thread, params={"after": app.position()}).text
    assert page.count('<p class="body-text" dir="auto">Agreed</p>') == 1
    assert send("Agreed").url.fragment == anew.url.fragment  # and that one is there now


def test_a_closed_jams_thread_still_shows_the_readers_own_vote(site):
    client, app, scene = site
    idea = scene.post_idea(scene.join(name="Ada"), title="Quiet rooms")
    bea = scene.join(name="Bea")
    app.handle(c.CastVote(actor=bea, idea_id=idea, value=1))
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    _as(client, bea)
    votes = client.get(f"/ideas/{idea}", params={"after": app.position()}).text
    votes = votes.split('id="votes">')[1].split("</div>")[0]
    assert "Your vote: support it." in votes
    assert "<button" not in votes  # shown, not offered


def test_a_decision_on_the_shortlist_and_a_duplicate_marked_come_back_to_their_place(site):
    client, _, scene = site
    ada = scene.join()
    idea, copy = scene.post_idea(ada, title="Quiet rooms"), scene.post_idea(ada, title="Copy")
    _as(client, scene.join(role="leader", name="Lee"))
    shortlist = f"/jams/{scene.jam_id}/leadership"
    decided = client.post(
        f"/ideas/{idea}/decision",
        data={"decision": "funded", "note": "", "_csrf_token": _token(client, shortlist)},
        headers={"referer": f"{client.base_url}{shortlist}"},
        follow_redirects=False,
    )
    target = decided.headers["location"]
    assert target.startswith(shortlist)
    assert target.endswith(f"#idea-{idea}")
    listed = client.get(target.split("#")[0]).text
    assert f'<li id="idea-{idea}">' in listed or "No ideas ranked yet" in listed
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    marked = client.post(
        f"/ideas/{copy}/duplicate",
        data={"original_id": str(idea), "_csrf_token": _token(client, central)},
        headers={"referer": f"{client.base_url}{central}"},
        follow_redirects=False,
    )
    target = marked.headers["location"]
    assert target.startswith(central)
    assert target.endswith("#duplicates")
    shown = client.get(target.split("#")[0]).text
    assert '<h2 id="duplicates">Likely duplicates</h2>' in shown
    # Unmarked from its thread, back to the thread's top: it has no list of duplicates.
    thread = f"/ideas/{copy}"
    unmarked = client.post(
        f"{thread}/duplicate",
        data={"action": "unmark", "_csrf_token": _token(client, thread)},
        headers={"referer": f"{client.base_url}{thread}"},
        follow_redirects=False,
    )
    target = unmarked.headers["location"]
    assert target.startswith(thread)
    assert "#" not in target
    # From the thread page, the same anchor is its decision form; and a refused decision
    # or topic label comes back with what was typed (the forms keep their text).
    _as(client, scene.join(role="leader", name="Lee"))
    thread = client.get(f"/ideas/{idea}").text
    assert f'action="/ideas/{idea}/decision" id="idea-{idea}" data-keep' in thread


def _topic(n: int) -> ClusterOut:
    cluster = Cluster(
        id=f"t{n}",
        label=f"Topic {n}",
        terms=("a",),
        size=3,
        representatives=(),
        growth_last_hour=0,
        emerging=False,
        segments={"employee": 3},
        x=float(n),
        y=float(n),
    )
    return ClusterOut(cluster, 3)


def test_jam_centrals_topic_forms_merge_two_topics_as_they_come_in_plain_words(site, monkeypatch):
    client, _, scene = site
    now = datetime.now(UTC).isoformat()

    def topics(clusters: int, unclustered: int) -> TopicsOut:
        made = [_topic(n) for n in range(1, clusters + 1)]
        return TopicsOut(str(scene.jam_id), 1, now, "test", made, unclustered, [now], {})

    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    monkeypatch.setattr("ui.pages.read_topics", lambda *args: topics(4, 1))
    page = client.get(central).text
    assert "4 topics and 1 unclustered idea," in page
    # A refused label comes back with what was typed (the rename form keeps its text).
    assert f'action="/jams/{scene.jam_id}/topics" data-keep>' in page
    merge = page.split('<label for="merge-id">Merge topic</label>')[1].split("</form>")[0]
    into = merge.split('<label for="merge-into">into topic</label>')[1]
    assert '<option value="t2" selected>' in into  # not the topic "Merge" starts at
    assert "selected" not in merge.split("merge-into")[0]
    monkeypatch.setattr("ui.pages.read_topics", lambda *args: topics(1, 2))
    page = client.get(central).text
    assert "1 topic and 2 unclustered ideas," in page
    assert "merge-into" not in page  # one topic: nothing to merge it into
    # Refusals say "topic" too, as the page does, not the rules' "cluster".
    for form, said in (
        ({"action": "nope"}, "Choose what to do with the topic"),
        ({"action": "pin", "cluster_id": "t1"}, "Topic t1 holds no ideas"),
    ):
        refused = client.post(
            f"/jams/{scene.jam_id}/topics",
            data={**form, "_csrf_token": _token(client, central)},
            headers={"referer": central},
        )
        assert said in _notice_of(refused.text), _notice_of(refused.text)


def test_the_timeline_offers_past_hours_and_the_chosen_one_not_the_hour_under_way():
    history = [
        "2030-05-02T10:59:50+00:00",
        "2030-05-02T11:59:58+00:00",
        "2030-05-02T12:04:10+00:00",
    ]
    now = datetime(2030, 5, 2, 12, 30, tzinfo=UTC)
    assert _past_hours(history, now, None) == history[:2]
    assert _past_hours(history, now, datetime(2030, 5, 2, 12, 4, 10, tzinfo=UTC)) == history
    assert _past_hours(history, datetime(2030, 5, 2, 13, 0, tzinfo=UTC), None) == history
