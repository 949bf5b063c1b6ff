"""Authors edit their own idea and comments from the thread page, as the API's PATCH does."""

from __future__ import annotations

import html as markup
from datetime import timedelta
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import SESSION_COOKIE, issue_token


@pytest.fixture
def site(tmp_path, clock):
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_wait_ms=30_000), clock=clock)
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        yield client, app, scene
    app.close()


def _as(client, participant) -> None:
    client.cookies.set(SESSION_COOKIE, issue_token(client.app.state.secret, participant))


def _token(html: str) -> str:
    return html.split('name="_csrf_token" value="')[1].split('"')[0]


def _alert(html: str) -> str:
    return html.split('<p class="notice" role="alert">')[1].split("</p>")[0]


def test_an_author_edits_their_idea_and_comment_and_the_thread_says_edited(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms", body="For <focus> work.")
    said = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes & no"))
    _as(client, ada)
    thread = f"/ideas/{idea}"
    page = client.get(thread, params={"after": app.position()}).text
    # Pre-filled with the text as it stands, escaped.
    assert f'action="/ideas/{idea}/edit"' in page
    assert 'value="Quiet rooms"' in page
    assert ">For &lt;focus&gt; work.</textarea>" in page
    assert f'action="/comments/{said.id}/edit"' in page
    assert (
        f'id="edit-{said.id}" name="body" required rows="3" maxlength="5000">Yes &amp; no' in page
    )
    token = _token(page)
    edited = client.post(
        f"{thread}/edit",
        data={
            "title": "Quiet rooms, bookable",
            "body": "By the hour.",
            "_csrf_token": token,
            "kept": "1",
        },
        headers={"referer": thread},
    )
    assert edited.status_code == 200
    assert '<h1 dir="auto">Quiet rooms, bookable</h1>' in edited.text
    assert '<p class="body-text" dir="auto">By the hour.</p>' in edited.text
    assert "· edited " in edited.text
    again = client.post(
        f"/comments/{said.id}/edit",
        data={
            "body": "Yes, please",
            "idea_id": str(idea),
            "_csrf_token": _token(page),
            "kept": "1",
        },
        headers={"referer": thread},
        follow_redirects=False,
    )
    assert again.headers["location"].endswith(f"#c-{said.id}")  # back to the comment
    shown = client.get(again.headers["location"]).text
    assert '<p class="body-text" dir="auto">Yes, please</p>' in shown
    assert "UTC</time> · edited <time" in shown  # after when it was posted
    api = client.get(f"/api/ideas/{idea}").json()
    assert (api["idea"]["title"], api["body"]) == ("Quiet rooms, bookable", "By the hour.")
    assert api["comments"][0]["body"] == "Yes, please"


def test_a_refused_edit_says_why_on_the_thread_and_a_repeat_is_calm(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms", body="Bookable.")
    _as(client, ada)
    thread = f"/ideas/{idea}"
    token = _token(client.get(thread, params={"after": app.position()}).text)
    empty = client.post(
        f"{thread}/edit",
        data={"title": "   ", "body": "Bookable.", "_csrf_token": token, "kept": "1"},
        headers={"referer": thread},
    )
    # The edit form is still on the page ([data-keep]: the script puts the text back).
    assert "Title must not be empty" in _alert(empty.text)
    assert f'action="/ideas/{idea}/edit" data-keep data-open-only data-prefilled' in empty.text
    long = client.post(
        f"{thread}/edit",
        data={"title": "Quiet rooms", "body": "x" * 5001, "_csrf_token": token, "kept": "1"},
        headers={"referer": thread},
    )
    assert "5000" in _alert(long.text).replace(",", "")
    same = client.post(
        f"{thread}/edit",
        data={"title": "Quiet rooms", "body": "Bookable.", "_csrf_token": token, "kept": "1"},
        headers={"referer": thread},
    )
    # Sent twice (a double click): the second finds nothing to change; not a refusal.
    assert 'role="alert"' not in same.text
    assert "Nothing to change: it already reads so." in same.text


def test_only_the_author_is_offered_an_edit_and_a_forged_one_is_refused(site):
    client, app, scene = site
    ada, bea = scene.join(name="Ada"), scene.join(name="Bea")
    idea = scene.post_idea(ada, title="Quiet rooms")
    said = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    mine = app.handle(c.PostComment(actor=bea, comment_id=uuid4(), idea_id=idea, body="Mine"))
    thread = f"/ideas/{idea}"
    for who in (bea, scene.organizer):
        _as(client, who)
        page = client.get(thread, params={"after": app.position()}).text
        assert f"/ideas/{idea}/edit" not in page
        assert f"/comments/{said.id}/edit" not in page
    assert f"/comments/{mine.id}/edit" not in page  # the organizer's view of Bea's comment
    _as(client, bea)
    page = client.get(thread).text
    assert f"/comments/{mine.id}/edit" in page  # her own
    forged = client.post(
        f"{thread}/edit",
        data={"title": "Mine now", "body": "Ha", "_csrf_token": _token(page), "kept": "1"},
        headers={"referer": thread},
    )
    assert forged.status_code == 403
    assert "only the author may edit an idea" in forged.text.lower()
    forged = client.post(
        f"/comments/{said.id}/edit",
        data={"body": "Ha", "idea_id": str(idea), "_csrf_token": _token(page), "kept": "1"},
        headers={"referer": thread},
    )
    assert forged.status_code == 403
    without_token = client.post(f"{thread}/edit", data={"title": "T", "body": "B"})
    assert without_token.status_code == 403
    api = client.get(f"/api/ideas/{idea}", params={"after": app.position()}).json()
    assert api["idea"]["title"] == "Quiet rooms"
    assert api["comments"][0]["body"] == "Yes"


def test_a_closed_jam_or_a_hidden_idea_offers_no_edit_and_refuses_one(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    said = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    _as(client, ada)
    thread = f"/ideas/{idea}"
    token = _token(client.get(thread, params={"after": app.position()}).text)
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    closed = client.get(thread, params={"after": app.position()}).text
    assert "/edit" not in closed
    refused = client.post(
        f"{thread}/edit",
        data={
            "title": "Quiet rooms, bookable",
            "body": "Try it.",
            "_csrf_token": token,
            "kept": "1",
        },
        headers={"referer": thread},
    )
    assert refused.status_code == 200  # the thread, saying why
    assert "the jam is closed" in markup.unescape(_alert(refused.text)).lower()
    refused = client.post(
        f"/comments/{said.id}/edit",
        data={"body": "Yes, please", "idea_id": str(idea), "_csrf_token": token, "kept": "1"},
        headers={"referer": thread},
    )
    assert "the jam is closed" in _alert(refused.text).lower()
    assert client.get(f"/api/ideas/{idea}").json()["comments"][0]["body"] == "Yes"
    # A refusal's page waits for the read models to hold what refused it (the jam closed),
    # so it offers no form that the log would refuse again.
    refused = client.post(
        f"{thread}/comments",
        data={"body": "Late", "_csrf_token": token, "kept": "1"},
        headers={"referer": thread},
        follow_redirects=False,
    )
    assert refused.headers["location"].endswith(f"&after={app.position()}")


def test_a_hidden_idea_offers_its_author_no_edit(site):
    client, app, scene = site
    # An organizer's own idea: the one author who still sees it once hidden.
    idea = scene.post_idea(scene.organizer, title="Quiet rooms")
    _as(client, scene.organizer)
    thread = f"/ideas/{idea}"
    assert f"/ideas/{idea}/edit" in client.get(thread, params={"after": app.position()}).text
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="later"))
    assert f"/ideas/{idea}/edit" not in client.get(thread, params={"after": app.position()}).text


def test_an_edited_comment_says_when_it_was_last_edited(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    said = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    scene.clock.advance(timedelta(hours=2, minutes=5, seconds=30))
    app.handle(c.EditComment(actor=ada, comment_id=said.id, body="Yes, please"))
    scene.clock.advance(timedelta(minutes=10))
    done = app.handle(c.EditComment(actor=ada, comment_id=said.id, body="Yes, please!"))
    _as(client, scene.join(name="Bea"))
    page = client.get(f"/ideas/{idea}", params={"after": done.position}).text
    comment = page.split(f'<li id="c-{said.id}">')[1].split("</li>")[0]
    # The last edit's time, as the page gives times: to the minute, in UTC.
    assert '· edited <time datetime="2030-05-01T11:15:30Z">2030-05-01 11:15 UTC</time>' in comment


def test_each_comments_edit_control_is_named_for_its_comment(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    for body in (
        "Yes",
        'Rooms "for focus"\nand calls',
        "Yes, and bookable by the hour for the team",
    ):
        app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body=body))
        scene.clock.advance(timedelta(minutes=1))
    _as(client, ada)
    page = client.get(f"/ideas/{idea}", params={"after": app.position()}).text
    names = [
        markup.unescape(part.split('"')[0])
        for part in page.split('<summary aria-label="')[1:]
        if ">Edit</summary>" in part.split("\n")[0]
    ]
    # Read out apart, by each comment's start and when it was posted; "Edit" in each name,
    # as it is on the screen (what someone using voice control says).
    assert sorted(names) == [
        'Edit your comment “Rooms "for focus" and calls” of 2030-05-01 09:01 UTC',
        "Edit your comment “Yes, and bookable by the hour for the…” of 2030-05-01 09:02 UTC",
        "Edit your comment “Yes” of 2030-05-01 09:00 UTC",
    ]


def test_a_closed_jams_note_on_the_edit_forms_speaks_of_edits_too(site):
    client, app, scene = site
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Quiet rooms")
    _as(client, ada)
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done"))
    page = client.get(f"/ideas/{idea}", params={"after": app.position()}).text
    # What the script says on an edit form being typed when the jam closed (live.js).
    marker = page.split("data-writes-closed=")[1].split(" data-forms=")[0]
    assert markup.unescape(marker) == (
        '"This jam was closed early: done. Votes, comments and edits are taken while it is open."'
    )
