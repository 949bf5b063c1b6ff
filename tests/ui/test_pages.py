"""Pages: user text is inert everywhere, forms need their CSRF token, roles are checked."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from domain import Jam
from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import SESSION_COOKIE, issue_token

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


def test_script_in_user_text_is_inert_on_every_page(site):
    client, app, scene = site
    ada = scene.join(name=XSS[:60])
    idea = scene.post_idea(ada, title=XSS[:120], body=XSS)
    comment = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body=XSS))
    app.handle(c.FlagIdea(actor=ada, idea_id=idea, reason=XSS))
    _as(client, scene.organizer)
    pages = [
        f"/jams/{scene.jam_id}?after={comment.position}",
        f"/ideas/{idea}?after={comment.position + 1}",
        f"/jams/{scene.jam_id}/central",
        f"/jams/{scene.jam_id}/leadership?after={comment.position + 1}",
        "/",
    ]
    for path in pages:
        html = client.get(path).text
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        assert path == "/" or "&lt;script&gt;" in html, path  # the home page shows no user text
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
        data={"forum": "nope", "title": "T", "body": "B", "_csrf_token": token},
    )
    assert "has no forum" in refused.text  # shown as a notice on the page


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
    assert page.text.count('action="/jams/') == 3  # alert, extend, close: each once


def _token(client, path: str) -> str:
    return client.get(path).text.split('name="_csrf_token" value="')[1].split('"')[0]


def test_leaders_decide_and_organizers_extend_from_their_pages(site, clock):
    client, app, scene = site
    idea = scene.post_idea(scene.join())
    page = f"/ideas/{idea}"
    _as(client, scene.organizer)
    assert "Record decision" not in client.get(page).text
    _as(client, scene.join(role="leader"))
    assert "Record decision" in client.get(page).text
    decided = client.post(
        f"{page}/decision",
        data={"decision": "funded", "note": "Go", "_csrf_token": _token(client, page)},
    )
    assert "decision: funded" in decided.text
    _as(client, scene.organizer)
    central = f"/jams/{scene.jam_id}/central"
    later = (clock.now.replace(tzinfo=None) + timedelta(days=5)).isoformat()
    extended = client.post(
        f"/jams/{scene.jam_id}/schedule",
        data={"ends_at": later[:16], "_csrf_token": _token(client, central)},
    )
    assert extended.status_code == 200
    assert app.load(Jam, scene.jam_id).ends_at.isoformat()[:16] == later[:16]


def test_my_activity_page_lists_my_ideas(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Mine")
    _as(client, ada)
    client.get(f"/ideas/{idea}?after={app.position()}")  # wait for the read models
    assert "Mine" in client.get("/me").text


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
    _as(client, scene.join())
    seen = app.position()
    for page in (f"/jams/{scene.jam_id}", f"/ideas/{idea}"):
        html = client.get(page, params={"after": seen}).text
        assert "Voting closes at &lt;b&gt;noon&lt;/b&gt;" in html
    _as(client, scene.organizer)
    client.post(
        f"/jams/{scene.jam_id}/alert", data={"message": "", "_csrf_token": _token(client, central)}
    )
    assert "Voting closes" not in client.get(f"/jams/{scene.jam_id}").text


def test_the_moderation_queue_on_jam_central_hides_flagged_ideas(site):
    client, app, scene = site
    ada = scene.join()
    idea = scene.post_idea(ada, title="Cheap watches")
    app.handle(c.FlagIdea(actor=ada, idea_id=idea, reason="spam"))
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
    at = app.clock().isoformat()
    earlier = client.get(page, params={"as_of": at}).text  # ranked again from the log
    assert "Rooftop gardens" in earlier
    assert f"shortlist?format=csv&amp;clean=true&amp;as_of={quote(at)}" in earlier
    assert f'href="?clean=false&amp;as_of={quote(at)}"' in earlier
    _as(client, ada)
    assert "/me" in client.get("/me").text


def test_a_form_goes_back_only_to_a_page_of_this_site(site):
    client, _, scene = site
    _as(client, scene.join())
    page = f"/jams/{scene.jam_id}"
    token = _token(client, page)
    for referer in ("https://evil.example/phish", "//evil.example/phish", "javascript:alert(1)"):
        answer = client.post(
            f"/jams/{scene.jam_id}/ideas",
            data={"forum": "nope", "title": "T", "body": "B", "_csrf_token": token},
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
    _as(client, scene.organizer)
    page = f"/ideas/{idea}"
    token = _token(client, f"{page}?after={done.position}")
    client.post(
        f"/comments/{done.id}/moderation",
        data={"action": "hide", "reason": "rude", "idea_id": str(idea), "_csrf_token": token},
    )
    _as(client, ada)
    shown = client.get(page, params={"after": app.position()}).text
    assert "Rude words" not in shown
    assert "Hidden by an organizer." in shown


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
    hours = client.get(f"/api/jams/{scene.jam_id}/topics").json()["history"]
    assert hours, "each refresh is kept for its hour"
    earlier = client.get(central, params={"topics_at": hours[0]}).text
    assert f'<option value="{hours[0]}" selected>' in earlier
    shown_at = datetime.fromisoformat(hours[0]).isoformat()  # as the page reads it back
    assert f"topics?format=csv&amp;as_of={quote(shown_at)}" in earlier
    as_of = client.get(f"/api/jams/{scene.jam_id}/topics", params={"as_of": hours[0]}).json()
    assert as_of["clusters"]
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
    renamed = client.get(central).text
    assert "Where we work" in renamed
    assert "<title>Where we work</title>" in renamed  # the map names it in full on hover
    refused = client.post(
        f"/jams/{scene.jam_id}/topics",
        data={"action": "split", "cluster_id": "t999", "_csrf_token": _token(client, central)},
        headers={"referer": central},
        follow_redirects=False,
    )
    assert "notice=" in refused.headers["location"]  # told why, nothing recorded
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
