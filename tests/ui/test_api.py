"""The JSON API: sign in, write through commands, and the status code for each refusal."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from domain.errors import CommentHidden
from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections.db import open_views
from projections.projector import TRACKING_NAME
from projections.runner import REBUILD_MARK
from projections.schema import clear_views
from ranking.engine import default_engine
from tests.stories import open_jam
from ui import auth
from ui.app import create_app
from ui.auth import issue_token
from ui.bootstrap import ranking_worker


@pytest.fixture
def world(tmp_path, clock):
    """A running API over a jam with an organizer; `enter` signs people in."""
    app = JamApplication(
        Settings(data_dir=tmp_path / "var", read_wait_ms=30_000, writes_per_minute=1000),
        clock=clock,
    )
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:

        def enter(role: str = "participant", segment: str = "employee", jam=scene.jam_id) -> dict:
            code = uuid4().hex
            app.handle(c.IssueInvite(code=code, role=role, segment=segment, jam_id=jam))
            response = client.post("/api/session", json={"invite_code": code, "display_name": role})
            assert response.status_code == 201, response.text
            session = response.json()
            return {"Authorization": f"Bearer {session['token']}"}

        yield client, app, scene, enter
    app.close()


def _idea(client, scene, who, title="Four-day week", **extra):
    return client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "health", "title": title, "body": "Try it."},
        headers={**who, **extra},
    )


def test_signing_in_returns_a_token_and_sets_an_httponly_cookie(world):
    client, app, scene, _ = world
    app.handle(
        c.IssueInvite(code="WELCOME", role="participant", segment="client", jam_id=scene.jam_id)
    )
    response = client.post("/api/session", json={"invite_code": "welcome", "display_name": "Ada"})
    assert response.status_code == 201
    body = response.json()
    assert (body["role"], body["segment"]) == ("participant", "client")
    assert response.headers["cache-control"] == "no-store"  # it carries the token
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    # The cookie alone signs later requests in.
    assert _idea(client, scene, {}).status_code == 201


def test_a_body_that_is_not_utf8_is_refused_as_invalid_not_a_fault(world):
    client, _, scene, enter = world
    json_type = {"content-type": "application/json"}
    for url, headers in (("/api/session", json_type), (f"/api/jams/{scene.jam_id}/ideas", enter())):
        body = b'{"invite_code": "\xff", "forum": "health", "title": "\xfe", "body": "b"}'
        response = client.post(url, content=body, headers={**headers, **json_type})
        assert response.status_code == 422, response.text
        assert response.json() == {"error": "invalid", "detail": "the body is not UTF-8 text"}


def test_json_nested_too_deeply_is_refused_as_invalid_not_a_fault(world, caplog):
    # Two kilobytes of brackets, and no sign-in needed: a 500 and a traceback each.
    client, _, scene, enter = world
    json_type = {"content-type": "application/json"}
    for url, headers, body in (
        ("/api/session", json_type, "[" * 1000 + "]" * 1000),
        (f"/api/jams/{scene.jam_id}/ideas", enter(), '{"a":' * 10_000 + "1" + "}" * 10_000),
    ):
        response = client.post(url, content=body, headers={**headers, **json_type})
        assert response.status_code == 422, response.text
        assert response.json() == {"error": "invalid", "detail": "the JSON is nested too deeply"}
    assert "Traceback" not in caplog.text


def test_a_decoding_fault_of_ours_stays_a_fault_not_the_clients_invalid_input(world, monkeypatch):
    client, app, scene, enter = world
    ada = enter()

    def broken(*args, **kwargs):
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "a stored byte we cannot read")

    monkeypatch.setattr("projections.queries.jam_info", broken)
    response = client.get(
        f"/api/jams/{scene.jam_id}", params={"after": app.position()}, headers=ada
    )
    assert (response.status_code, response.json()["error"]) == (500, "internal")


def test_bad_sign_ins_are_refused(world):
    client, app, scene, _ = world
    unknown = client.post("/api/session", json={"invite_code": "nope", "display_name": "Ada"})
    assert (unknown.status_code, unknown.json()["error"]) == (422, "invalid_value")
    app.handle(c.IssueInvite(code="ONCE", role="participant", jam_id=scene.jam_id))
    assert (
        client.post("/api/session", json={"invite_code": "ONCE", "display_name": " "}).status_code
        == 422
    )
    assert (
        client.post("/api/session", json={"invite_code": "ONCE", "display_name": "A"}).status_code
        == 201
    )
    used = client.post("/api/session", json={"invite_code": "ONCE", "display_name": "B"})
    assert (used.status_code, used.json()["error"]) == (409, "invite_used_up")
    missing = client.post("/api/session", json={"display_name": "B"})
    assert missing.status_code == 422


def test_a_personal_code_signs_its_maker_back_in_and_the_newest_alone(world):
    client, app, _, enter = world
    ada = enter()
    made = client.post("/api/me/personal-code", headers=ada)
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    code = made.json()["personal_code"]
    assert len(code.replace("-", "")) == 20  # 100 bits: it is a password
    client.cookies.clear()  # signed out
    back = client.post("/api/session/personal-code", json={"personal_code": code.lower()})
    assert back.status_code == 201, back.text
    assert back.json()["participant_id"] == _participant_of(ada)
    assert back.headers["cache-control"] == "no-store"
    assert "HttpOnly" in back.headers["set-cookie"]
    newer = client.post("/api/me/personal-code", headers=ada).json()["personal_code"]
    retired = client.post("/api/session/personal-code", json={"personal_code": code})
    assert (retired.status_code, retired.json()["error"]) == (422, "invalid_value")
    again = client.post("/api/session/personal-code", json={"personal_code": newer})
    assert again.json()["participant_id"] == _participant_of(ada)
    # Nothing in the log holds a code: organizers, who can read it, cannot sign in as anyone.
    log = b"".join(n.state for n in app.recorder.select_notifications(1, 100_000))
    for shown in (code, newer):
        for form in (shown, shown.replace("-", "")):
            assert form.encode() not in log


def test_a_personal_code_is_made_once_per_retry_key_and_refused_when_wrong(world):
    client, app, scene, enter = world
    ada = enter()
    keyed = {**ada, "Idempotency-Key": "make-code-1"}
    first = client.post("/api/me/personal-code", headers=keyed).json()["personal_code"]
    assert client.post("/api/me/personal-code", headers=keyed).json()["personal_code"] == first
    newer = {**ada, "Idempotency-Key": "make-code-2"}
    second = client.post("/api/me/personal-code", headers=newer).json()["personal_code"]
    # A late retry of the first request must not hand back the code the second retired.
    late = client.post("/api/me/personal-code", headers=keyed)
    assert (late.status_code, late.json()["error"]) == (409, "conflicting_state")
    assert "newer personal code" in late.json()["detail"]
    client.cookies.clear()
    assert client.post("/api/me/personal-code").status_code == 401
    for wrong in ("", "AAAAA-BBBBB-CCCCC-DDDDD", first):
        refused = client.post("/api/session/personal-code", json={"personal_code": wrong})
        assert refused.status_code in (400, 422), wrong
    typo = client.post(
        "/api/session/personal-code",
        json={"personal_code": ("1" if second[0] == "0" else "0") + second[1:]},
    )
    assert "check it for typos" in typo.json()["detail"]
    app.handle(c.IssueInvite(code="WRONG-FORM", role="participant", jam_id=scene.jam_id))
    invite = client.post("/api/session/personal-code", json={"personal_code": "wrong-form"})
    assert "that is an invite code" in invite.json()["detail"]
    forged = client.post(
        "/api/session/personal-code",
        content=f'{{"personal_code": "{first}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert forged.status_code == 415
    right = client.post("/api/session/personal-code", json={"personal_code": second})
    assert right.status_code == 201


def _participant_of(headers: dict) -> str:
    return str(UUID(headers["Authorization"].split()[1].split(".")[0]))


def test_an_originals_thread_follows_its_duplicates_even_when_it_was_cached(world):
    # The thread lists its duplicates, which change in other ideas' events: a cached copy
    # had kept answering "no duplicates" after a link, ?after= notwithstanding.
    client, app, scene, enter = world
    ada = enter()
    original = _idea(client, scene, ada, title="Quiet rooms").json()["id"]
    copy = _idea(client, scene, ada, title="Quiet rooms!").json()["id"]
    url = f"/api/ideas/{original}"
    assert client.get(url, headers=ada).json()["duplicates"] == []  # now cached
    marked = app.handle(
        c.MarkDuplicate(actor=scene.organizer, idea_id=UUID(copy), original_id=UUID(original))
    )
    linked = client.get(url, params={"after": marked.position}, headers=ada).json()
    assert linked["duplicates"] == [{"id": copy, "title": "Quiet rooms!"}]
    renamed = client.patch(f"/api/ideas/{copy}", json={"title": "Silent rooms"}, headers=ada)
    after = {"after": renamed.json()["position"]}
    shown = client.get(url, params=after, headers=ada).json()["duplicates"]
    assert shown == [{"id": copy, "title": "Silent rooms"}]
    hidden = app.handle(c.HideIdea(actor=scene.organizer, idea_id=UUID(copy), reason="spam"))
    after = {"after": hidden.position}
    assert client.get(url, params=after, headers=ada).json()["duplicates"] == []
    # And a duplicate's thread says when its original was hidden since (cached before too).
    restored = app.handle(c.RestoreIdea(actor=scene.organizer, idea_id=UUID(copy), reason="ok"))
    its = f"/api/ideas/{copy}"
    assert not client.get(its, params={"after": restored.position}, headers=ada).json()[
        "original_hidden"
    ]
    gone = app.handle(c.HideIdea(actor=scene.organizer, idea_id=UUID(original), reason="rude"))
    assert client.get(its, params={"after": gone.position}, headers=ada).json()["original_hidden"]


def test_writing_needs_a_valid_session(world):
    client, _, scene, _ = world
    client.cookies.clear()
    assert _idea(client, scene, {}).status_code == 401
    forged = _idea(client, scene, {"Authorization": "Bearer 0123.456.789"})
    assert (forged.status_code, forged.json()["error"]) == (401, "not_signed_in")


def test_posting_commenting_voting_and_reading_your_own_writes(world):
    client, _, scene, enter = world
    ada, bob = enter(), enter(segment="family")
    posted = _idea(client, scene, ada)
    assert posted.status_code == 201
    idea = posted.json()
    comment = client.post(f"/api/ideas/{idea['id']}/comments", json={"body": "Yes!"}, headers=bob)
    assert comment.status_code == 201
    reply = client.post(
        f"/api/ideas/{idea['id']}/comments",
        json={"body": "Agreed", "parent_id": comment.json()["id"]},
        headers=ada,
    )
    vote = client.put(f"/api/ideas/{idea['id']}/vote", json={"value": 1}, headers=bob)
    assert vote.status_code == 200
    thread = client.get(f"/api/ideas/{idea['id']}", params={"after": vote.json()["position"]})
    body = thread.json()
    assert (body["idea"]["up"], body["comments"][0]["replies"][0]["id"]) == (1, reply.json()["id"])
    withdrawn = client.put(f"/api/ideas/{idea['id']}/vote", json={"value": 0}, headers=bob)
    after = client.get(f"/api/ideas/{idea['id']}", params={"after": withdrawn.json()["position"]})
    assert after.json()["idea"]["up"] == 0


def test_only_authors_edit_and_only_while_the_jam_is_open(world, clock):
    client, _, scene, enter = world
    ada, bob = enter(), enter()
    idea = _idea(client, scene, ada).json()
    edit = {"title": "Four-day week, piloted", "body": "In one team."}
    assert client.patch(f"/api/ideas/{idea['id']}", json=edit, headers=bob).status_code == 403
    assert client.patch(f"/api/ideas/{idea['id']}", json=edit, headers=ada).status_code == 200
    retitled = client.patch(f"/api/ideas/{idea['id']}", json={"title": "Shorter"}, headers=ada)
    assert retitled.status_code == 200, retitled.text  # a field left out stays as it is
    after = {"after": retitled.json()["position"]}
    shown = client.get(f"/api/ideas/{idea['id']}", params=after, headers=ada).json()
    assert (shown["idea"]["title"], shown["body"]) == ("Shorter", "In one team.")
    empty = client.patch(f"/api/ideas/{idea['id']}", json={}, headers=ada)
    assert empty.status_code == 422
    clock.advance(timedelta(hours=73))
    closed = _idea(client, scene, ada)
    assert (closed.status_code, closed.json()["error"]) == (409, "jam_not_open")


def test_invalid_input_gets_422_and_unknown_ids_404(world):
    client, _, scene, enter = world
    ada = enter()
    assert _idea(client, scene, ada, title="x" * 121).status_code == 422
    wrong_forum = client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "nope", "title": "T", "body": "B"},
        headers=ada,
    )
    assert (wrong_forum.status_code, wrong_forum.json()["error"]) == (422, "unknown_forum")
    huge = client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "f" * 60_000, "title": "T", "body": "B"},
        headers=ada,
    )
    assert huge.status_code == 422
    assert len(huge.content) < 1_000  # refused by its length, not sent back whole
    idea = _idea(client, scene, ada).json()
    assert (
        client.put(f"/api/ideas/{idea['id']}/vote", json={"value": 5}, headers=ada).status_code
        == 422
    )
    assert (
        client.put(f"/api/ideas/{uuid4()}/vote", json={"value": 1}, headers=ada).status_code == 404
    )
    not_json = client.post(f"/api/ideas/{idea['id']}/flags", content=b"{", headers=ada)
    assert not_json.status_code == 422


def test_organizers_add_forums_through_the_api(world):
    client, _app, scene, enter = world
    ada, organizer = enter(), enter("organizer")
    url = f"/api/jams/{scene.jam_id}/forums"
    forum = {"slug": "cities", "title": "Cities", "description": "Where we live"}
    assert client.post(url, json=forum, headers=ada).status_code == 403
    added = client.post(url, json=forum, headers=organizer)
    assert added.status_code == 201, added.text
    assert added.json()["id"] == str(scene.jam_id)
    jam = client.get(
        f"/api/jams/{scene.jam_id}", params={"after": added.json()["position"]}, headers=ada
    ).json()
    assert {"slug": "cities", "title": "Cities", "description": "Where we live"} in jam["forums"]
    posted = client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "cities", "title": "Trams", "body": "More of them."},
        headers=ada,
    )
    assert posted.status_code == 201, posted.text
    again = client.post(url, json=forum, headers=organizer)
    assert (again.status_code, again.json()["detail"]) == (409, "forum “cities” already exists")
    for bad in ({**forum, "slug": "Not A Slug"}, {**forum, "slug": "x" * 41}, {"slug": "a"}):
        assert client.post(url, json=bad, headers=organizer).status_code == 422, bad
    # Without a slug, one is made from the title; a title alike to another's is refused.
    made = client.post(url, json={"title": "Water & oceans"}, headers=organizer)
    assert made.status_code == 201, made.text
    numbered = client.post(url, json={"title": "日本"}, headers=organizer)  # no a-z to use
    assert numbered.status_code == 201, numbered.text
    jam = client.get(
        f"/api/jams/{scene.jam_id}", params={"after": numbered.json()["position"]}, headers=ada
    ).json()
    assert {"slug": "water-oceans", "title": "Water & oceans", "description": ""} in jam["forums"]
    assert {"slug": "forum-1", "title": "日本", "description": ""} in jam["forums"]
    alike = client.post(url, json={"title": "CITIES", "slug": "towns"}, headers=organizer)
    assert (alike.status_code, alike.json()["detail"]) == (
        409,
        "a forum titled “CITIES” already exists",
    )
    twice = client.post(url, json={"title": "日本"}, headers=organizer)  # its title taken
    assert (twice.status_code, twice.json()["detail"]) == (
        409,
        "a forum titled “日本” already exists",
    )


def test_flags_moderation_and_decisions_check_roles(world):
    client, app, scene, enter = world
    ada, bea = enter(), enter()
    organizer, leader = enter("organizer"), enter("leader")
    idea = _idea(client, scene, bea).json()
    url = f"/api/ideas/{idea['id']}"
    own = client.post(f"{url}/flags", json={"reason": "spam"}, headers=bea)
    assert own.status_code == 409
    assert "your own idea" in own.json()["detail"]
    assert client.post(f"{url}/flags", json={"reason": "spam"}, headers=ada).status_code == 201
    assert client.post(f"{url}/flags", json={"reason": "spam"}, headers=ada).status_code == 409
    hide = {"action": "hide", "reason": "off topic"}
    assert client.post(f"{url}/moderation", json=hide, headers=ada).status_code == 403
    hidden = client.post(f"{url}/moderation", json=hide, headers=organizer)
    assert hidden.status_code == 200
    assert client.get(url, params={"after": hidden.json()["position"]}).status_code == 404
    assert client.put(f"{url}/vote", json={"value": 1}, headers=ada).status_code == 409
    carol = enter()
    assert client.post(f"{url}/flags", json={"reason": "spam"}, headers=carol).status_code == 409
    undecided = client.post(f"{url}/decision", json={"decision": "funded"}, headers=leader)
    assert undecided.status_code == 409
    assert "once restored" in undecided.json()["detail"]
    restore = {"action": "restore", "reason": "fine after all"}
    assert client.post(f"{url}/moderation", json=restore, headers=organizer).status_code == 200
    dismiss = {"action": "dismiss"}
    assert client.post(f"{url}/moderation", json=dismiss, headers=organizer).status_code == 409
    assert client.post(f"{url}/flags", json={"reason": "spam"}, headers=leader).status_code == 201
    assert client.post(f"{url}/moderation", json=dismiss, headers=ada).status_code == 403
    dismissed = client.post(f"{url}/moderation", json=dismiss, headers=organizer)
    assert dismissed.status_code == 200
    queue = client.get(
        f"/api/jams/{scene.jam_id}/moderation",
        params={"after": dismissed.json()["position"]},
        headers=organizer,
    ).json()
    assert queue["flagged"] == []
    assert queue["actions"][0]["action"] == "dismiss"
    again = client.post(f"{url}/flags", json={"reason": "still spam"}, headers=leader)
    assert again.status_code == 201  # reviewed since: the same person may flag it again
    queue = client.get(
        f"/api/jams/{scene.jam_id}/moderation",
        params={"after": again.json()["position"]},
        headers=organizer,
    ).json()
    assert [(f["flags"], f["reasons"]) for f in queue["flagged"]] == [(1, ["still spam"])]
    decision = {"decision": "funded", "note": "Go"}
    assert client.post(f"{url}/decision", json=decision, headers=organizer).status_code == 403
    assert client.post(f"{url}/decision", json=decision, headers=leader).status_code == 200
    bad = client.post(f"{url}/decision", json={"decision": "maybe"}, headers=leader)
    assert bad.status_code == 422
    comment = client.post(f"{url}/comments", json={"body": "rude"}, headers=ada).json()
    curl = f"/api/comments/{comment['id']}/moderation"
    assert client.post(curl, json=hide, headers=ada).status_code == 403
    assert client.post(curl, json=hide, headers=organizer).status_code == 200
    # A comment has no flags to dismiss: "dismiss" restored it, hidden as it was.
    dismissed = client.post(curl, json={"action": "dismiss", "reason": "ok"}, headers=organizer)
    assert dismissed.status_code in (400, 422)
    thread = client.get(url, params={"after": app.position()}, headers=ada).json()
    (kept,) = (c for c in thread["comments"] if c["id"] == comment["id"])
    assert kept["hidden"]
    assert kept["body"] != "rude"


def test_an_author_reads_their_own_hidden_idea_and_why_nobody_else_does(world):
    client, _, scene, enter = world
    ada, bea, organizer = enter(), enter(), enter("organizer")
    idea = _idea(client, scene, ada).json()
    url = f"/api/ideas/{idea['id']}"
    rude = client.post(f"{url}/comments", json={"body": "Ugh"}, headers=bea).json()
    client.post(
        f"/api/comments/{rude['id']}/moderation",
        json={"action": "hide", "reason": "rude"},
        headers=organizer,
    )
    # Bea's kind of reader has the thread kept before it is hidden.
    assert client.get(url, headers=bea).status_code == 200
    hide = {"action": "hide", "reason": "off topic"}
    hidden = client.post(f"{url}/moderation", json=hide, headers=organizer).json()
    after = {"after": hidden["position"]}
    assert client.get(url, params=after, headers=bea).status_code == 404
    own = client.get(url, params=after, headers=ada)
    assert own.status_code == 200
    thread = own.json()
    assert (thread["idea"]["hidden"], thread["hidden_reason"]) == (True, "off topic")
    # A comment hidden on it stays hidden from its author too.
    [comment] = thread["comments"]
    assert (comment["hidden"], comment["body"], comment["author_id"]) == (True, "", "")
    assert client.get(url, headers=bea).status_code == 404  # nothing of Ada's was kept for her
    assert client.get(url, headers=organizer).json()["hidden_reason"] == "off topic"
    # Its live stream, as its thread: Bea hears nothing more of it, not even its ids.
    refused = client.get(f"{url}/stream", params=after, headers=bea)
    assert (refused.status_code, refused.json()["detail"]) == (404, f"no idea with id {idea['id']}")


def test_an_author_cannot_rewrite_a_comment_an_organizer_hid_or_one_on_a_hidden_idea(world):
    # Rewritten while hidden, a comment would be restored on text no organizer had judged.
    client, app, scene, enter = world
    ada, organizer = enter(), enter("organizer")
    idea = _idea(client, scene, ada).json()["id"]
    url = f"/api/ideas/{idea}"
    said = client.post(f"{url}/comments", json={"body": "Rude words"}, headers=ada).json()
    moderation = f"/api/comments/{said['id']}/moderation"
    hide, restore = {"action": "hide", "reason": "rude"}, {"action": "restore", "reason": "ok"}
    assert client.post(moderation, json=hide, headers=organizer).status_code == 200
    # Comments are edited with the thread page's form (the author's session cookie).
    client.cookies.set(auth.SESSION_COOKIE, issue_token(client.app.state.secret, _id(ada)))
    page = client.get(f"/ideas/{idea}", params={"after": app.position()}).text
    form = {
        "body": "Kind words",
        "idea_id": idea,
        "_csrf_token": page.split('name="_csrf_token" value="')[1].split('"')[0],
        "kept": "1",  # sent from the page with its script, which gives the text back
    }

    def edit() -> str:
        sent = client.post(f"/comments/{said['id']}/edit", data=form, follow_redirects=False)
        assert sent.status_code in (302, 303), sent.text
        return parse_qs(urlsplit(sent.headers["location"]).query)["notice"][0]

    assert edit() == "the comment is hidden: it can be edited once an organizer restores it"
    with pytest.raises(CommentHidden):
        app.handle(c.EditComment(actor=_id(ada), comment_id=UUID(said["id"]), body="Kind words"))
    assert client.post(moderation, json=restore, headers=organizer).status_code == 200
    hidden = client.post(f"{url}/moderation", json=hide, headers=organizer)
    assert hidden.status_code == 200
    assert edit() == "the idea is hidden: its comments can be edited once it is restored"
    shown = client.get(url, params={"after": app.position()}, headers=organizer).json()
    assert shown["comments"][0]["body"] == "Rude words"  # as the organizers judged it


def _id(headers: dict) -> UUID:
    return UUID(_participant_of(headers))


def test_a_decision_note_is_read_by_the_jams_leaders_and_organizers_only(world):
    # The thread page shows the note only in the leader's form: the API said it to anyone.
    client, _, scene, enter = world
    ada, leader, organizer = enter(), enter("leader"), enter("organizer")
    everywhere = enter("organizer", jam=None)  # an organizer of every jam reads it too
    idea = _idea(client, scene, ada).json()["id"]
    url = f"/api/ideas/{idea}"
    note = "Fund it if finance agrees; Bea's team is overstretched"
    decided = client.post(
        f"{url}/decision", json={"decision": "funded", "note": note}, headers=leader
    )
    assert decided.status_code == 200, decided.text
    after = {"after": decided.json()["position"]}
    # Each reader after a leader and an organizer filled the read cache with the note.
    for reader, expected in (
        (leader, note),
        (ada, ""),
        (organizer, note),
        (ada, ""),
        (everywhere, note),
        (enter(segment="family"), ""),
    ):
        shown = client.get(url, params=after, headers=reader).json()
        assert (shown["idea"]["decision"], shown["decision_note"]) == ("funded", expected)
    # And as of a time, the leaders' and organizers' look back, it is still theirs.
    past = {"as_of_position": decided.json()["position"]}
    assert client.get(url, params=past, headers=leader).json()["decision_note"] == note
    assert client.get(url, params=past, headers=ada).status_code == 403


def test_who_wrote_a_hidden_comment_is_for_the_organizers_alone(world):
    # The page says "Hidden by an organizer." and nothing more: the API named its author.
    client, _, scene, enter = world
    ada, bob, carol = enter(), enter(segment="family"), enter()
    leader, organizer = enter("leader"), enter("organizer")
    idea = _idea(client, scene, ada).json()["id"]
    url = f"/api/ideas/{idea}"
    rude = client.post(f"{url}/comments", json={"body": "Rude words"}, headers=bob).json()
    client.post(
        f"{url}/comments", json={"body": "Calm down", "parent_id": rude["id"]}, headers=carol
    )
    hidden = client.post(
        f"/api/comments/{rude['id']}/moderation",
        json={"action": "hide", "reason": "rude"},
        headers=organizer,
    )
    after = {"after": hidden.json()["position"]}
    for reader in (organizer, ada, leader, bob):  # the organizer's read is cached first
        (shown,) = client.get(url, params=after, headers=reader).json()["comments"]
        authored = (shown["author_id"], shown["author_name"], shown["author_segment"])
        assert shown["hidden"]
        if reader is organizer:
            assert authored == (_participant_of(bob), "participant", "family")
            assert (shown["body"], shown["hidden_reason"]) == ("Rude words", "rude")
        else:
            assert authored == ("", "", "")
            assert (shown["body"], shown["hidden_reason"]) == ("", "")
        (reply,) = shown["replies"]  # the replies to it are not hidden
        assert (reply["author_id"], reply["body"]) == (_participant_of(carol), "Calm down")


def test_an_organizer_of_every_jam_asking_about_no_jam_gets_404(world):
    client, _, scene, enter = world
    everywhere = enter("organizer", jam=None)
    for jam in (scene.jam_id, uuid4()):
        expected = 200 if jam == scene.jam_id else 404
        for path in ("shortlist", "stats", "duplicates", "ideas", "moderation"):
            answer = client.get(f"/api/jams/{jam}/{path}", headers=everywhere)
            assert answer.status_code == expected, (path, answer.text)
            if expected == 404:
                assert f"no jam with id {jam}" in answer.json()["detail"]


def test_organizers_block_and_unblock_a_participant(world):
    client, _, scene, enter = world
    ada, organizer = enter(), enter("organizer")
    me = client.get("/api/me/activity", headers=ada).json()["participant_id"]
    url = f"/api/participants/{me}/moderation"
    block = {"action": "block", "reason": "spamming"}
    assert client.post(url, json=block, headers=enter()).status_code == 403
    blocked = client.post(url, json=block, headers=organizer)
    assert blocked.status_code == 200, blocked.text
    refused = _idea(client, scene, ada)
    assert refused.status_code == 403  # reads stay, writes stop
    # Said to the one refused, who is the one acting.
    assert refused.json()["detail"] == (
        "an organizer has blocked you from writing in this jam; you can still read"
    )
    for read in ("ideas", "similar?text=water"):
        assert client.get(f"/api/jams/{scene.jam_id}/{read}", headers=ada).status_code == 200
    assert client.post(url, json=block, headers=organizer).status_code == 409  # already
    bad = client.post(url, json={"action": "ban", "reason": "x"}, headers=organizer)
    assert bad.status_code == 422
    assert client.post(url, json={"action": "unblock"}, headers=organizer).status_code == 200
    assert _idea(client, scene, ada).status_code == 201


def test_organizers_create_schedule_and_invite(world, clock):
    client, _, _, enter = world
    ada, organizer = enter(), enter("organizer", jam=None)
    start = clock.now + timedelta(days=1)
    jam = {
        "title": "Second jam",
        "forums": [{"slug": "cities", "title": "Cities"}],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=72)).isoformat(),
    }
    assert client.post("/api/jams", json=jam, headers=ada).status_code == 403
    over = {**jam, "starts_at": (clock.now - timedelta(days=3)).isoformat()}
    over["ends_at"] = (clock.now - timedelta(days=1)).isoformat()
    refused = client.post("/api/jams", json=over, headers=organizer)
    assert refused.status_code == 422
    assert "end in the future" in refused.json()["detail"]
    created = client.post("/api/jams", json=jam, headers=organizer)
    assert created.status_code == 201
    jam_id = created.json()["id"]
    later = {
        "starts_at": (start + timedelta(days=1)).isoformat(),
        "ends_at": (start + timedelta(days=4)).isoformat(),
    }
    assert client.patch(f"/api/jams/{jam_id}", json=later, headers=organizer).status_code == 200
    assert client.patch(f"/api/jams/{jam_id}", json={}, headers=organizer).status_code == 422
    naive = {"ends_at": (start + timedelta(days=9)).replace(tzinfo=None).isoformat()}
    extended = client.patch(f"/api/jams/{jam_id}", json=naive, headers=organizer)
    assert (extended.status_code, extended.json()["error"]) == (422, "invalid_value")
    # In UTC, where the log keeps times, this is year 10000: refused, not a 500.
    beyond = {"starts_at": "9999-12-31T00:00:00-05:00", "ends_at": "9999-12-31T23:00:00-05:00"}
    for refused in (
        client.post("/api/jams", json={**jam, **beyond}, headers=organizer),
        client.patch(f"/api/jams/{jam_id}", json=beyond, headers=organizer),
    ):
        assert (refused.status_code, refused.json()["error"]) == (422, "invalid_value")
        assert "out of range" in refused.json()["detail"]
    invites = client.post(
        f"/api/jams/{jam_id}/invites", json={"role": "leader", "count": 3}, headers=organizer
    )
    assert invites.status_code == 201
    assert len(set(invites.json()["codes"])) == 3
    # With an idempotency key a retry gets the same codes and issues nothing new.
    retried = {**organizer, "Idempotency-Key": "invites-1"}
    first = client.post(
        f"/api/jams/{jam_id}/invites", json={"role": "leader", "count": 2}, headers=retried
    )
    again = client.post(
        f"/api/jams/{jam_id}/invites", json={"role": "leader", "count": 2}, headers=retried
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len(set(first.json()["codes"]) | set(invites.json()["codes"])) == 5
    other = client.post(
        f"/api/jams/{jam_id}/invites", json={"role": "organizer", "count": 2}, headers=retried
    )
    assert other.status_code == 422  # the same key for a different request
    more = client.post(
        f"/api/jams/{jam_id}/invites", json={"role": "leader", "count": 3}, headers=retried
    )
    assert (more.status_code, more.json()["error"]) == (422, "idempotency_key_reused")
    assert invites.headers["cache-control"] == "no-store"  # codes are keys to the jam
    assert (
        client.post(f"/api/jams/{jam_id}/invites", json={"role": "leader"}, headers=ada).status_code
        == 403
    )
    closed = client.patch(
        f"/api/jams/{jam_id}", json={"close": True, "reason": "Done"}, headers=organizer
    )
    assert closed.status_code == 200


def test_an_idempotency_key_makes_a_retry_safe(world):
    client, app, scene, enter = world
    ada = enter()
    first = _idea(client, scene, ada, **{"Idempotency-Key": "post-1"})
    again = _idea(client, scene, ada, **{"Idempotency-Key": "post-1"})
    assert first.json() == again.json()
    assert app.position() == first.json()["position"]
    other = _idea(client, scene, ada, title="Something else", **{"Idempotency-Key": "post-1"})
    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")


def test_an_idempotency_key_is_refused_rather_than_cut_short(world):
    client, app, scene, enter = world
    ada = enter()
    long = "k" * 200
    assert _idea(client, scene, ada, **{"Idempotency-Key": long}).status_code == 201
    end = app.position()
    # Cut to 200 characters, this key was the one above: the idea was silently not posted.
    longer = _idea(client, scene, ada, **{"Idempotency-Key": long + "B"})
    assert (longer.status_code, app.position()) == (422, end)
    assert "at most 200 characters" in longer.json()["detail"]


def test_signing_in_again_with_a_key_is_for_random_keys_only(world):
    client, app, scene, _ = world
    app.handle(c.IssueInvite(code="TEAM", role="participant", uses=100, jam_id=scene.jam_id))
    body = {"invite_code": "TEAM", "display_name": "Dana"}
    # A guessable key, with the team's code and a name, would sign a stranger in as Dana.
    short = client.post("/api/session", json=body, headers={"Idempotency-Key": "1"})
    assert (short.status_code, short.json()["error"]) == (422, "invalid")
    assert "at least 16 characters" in short.json()["detail"]
    key = {"Idempotency-Key": uuid4().hex}
    first, retry = (client.post("/api/session", json=body, headers=key) for _ in range(2))
    assert (first.status_code, retry.status_code) == (201, 201)
    assert first.json()["participant_id"] == retry.json()["participant_id"]


def test_oversized_bodies_get_413(world):
    client, _, scene, enter = world
    ada = enter()
    huge = client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "health", "title": "T", "body": "x" * 100_000},
        headers=ada,
    )
    assert huge.status_code == 413
    # Also where the route reads no body: refused by its length, before anything is done.
    organizer = enter("organizer")
    for method, url, who in (
        ("POST", "/api/me/personal-code", ada),
        ("DELETE", f"/api/jams/{scene.jam_id}/alerts", organizer),
    ):
        refused = client.request(method, url, content=b" " * 70_000, headers=who)
        assert refused.status_code == 413, (url, refused.text)
        assert refused.json()["error"] == "too_large"
        assert "64 KiB" in refused.json()["detail"]


def test_writes_are_rate_limited_per_participant(tmp_path, clock):
    app = JamApplication(Settings(data_dir=tmp_path / "var", writes_per_minute=3), clock=clock)
    scene = open_jam(app, clock)
    ada = scene.join()
    with TestClient(create_app(app.settings, jam=app)) as client:
        token = issue_token(client.app.state.secret, ada)
        headers = {"Authorization": f"Bearer {token}"}
        answers = [_idea(client, scene, headers, title=f"Idea {i}") for i in range(4)]
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        limited = _idea(client, scene, headers)
        assert int(limited.headers["retry-after"]) > 0
        assert limited.json()["error"] == "too_many_requests"
        assert (
            client.get(f"/api/jams/{scene.jam_id}/ideas", headers=headers).status_code == 200
        )  # reads are not limited
    app.close()


def test_sign_in_attempts_count_per_address_even_with_a_session(tmp_path, clock):
    # Else each session one holds would bring its own allowance of guessed codes.
    app = JamApplication(Settings(data_dir=tmp_path / "var", writes_per_minute=3), clock=clock)
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        sessions = [
            {"Authorization": f"Bearer {issue_token(client.app.state.secret, scene.join())}"}
            for _ in range(4)
        ]
        guesses = [
            client.post(url, json={key: "guess", "display_name": "Eve"}, headers=session)
            for session, (url, key) in zip(
                sessions,
                [("/api/session", "invite_code"), ("/api/session/personal-code", "personal_code")]
                * 2,
                strict=True,
            )
        ]
        assert [g.status_code for g in guesses] == [422, 422, 422, 429]
        # A participant's own writes still count against the participant, not the address.
        assert _idea(client, scene, sessions[0]).status_code == 201
    app.close()


def test_only_refused_sign_ins_count_so_an_office_behind_one_address_can_sign_in(tmp_path, clock):
    # A jam's start: a whole office signs in from one address (a NAT, a proxy). Counted,
    # all but the first few would be refused; a wrong code is a guess and still counts.
    app = JamApplication(Settings(data_dir=tmp_path / "var", writes_per_minute=3), clock=clock)
    scene = open_jam(app, clock)
    app.handle(c.IssueInvite(code="OFFICE", role="participant", jam_id=scene.jam_id, uses=10))
    with TestClient(create_app(app.settings, jam=app)) as client:
        joined = []
        for n in range(6):  # six browsers, one address
            client.cookies.clear()
            joined.append(
                client.post("/api/session", json={"invite_code": "OFFICE", "display_name": f"P{n}"})
            )
        assert [j.status_code for j in joined] == [201] * 6
        ada = {"Authorization": f"Bearer {joined[0].json()['token']}"}
        code = client.post("/api/me/personal-code", headers=ada).json()["personal_code"]
        client.cookies.clear()
        again = client.post("/api/session/personal-code", json={"personal_code": code})
        assert again.status_code == 201
        guesses = [
            client.post("/api/session", json={"invite_code": "GUESS", "display_name": "Eve"})
            for _ in range(4)
        ]
        assert [g.status_code for g in guesses] == [422, 422, 422, 429]
        # Refused now, the right code too: the address has used its guesses for the minute.
        late = client.post("/api/session", json={"invite_code": "OFFICE", "display_name": "Z"})
        assert late.status_code == 429
    app.close()


def test_a_cookie_alone_signs_in_only_json_writes(world):
    client, app, scene, _ = world
    app.handle(c.IssueInvite(code="COOKIE", role="participant", jam_id=scene.jam_id))
    assert (
        client.post(
            "/api/session", json={"invite_code": "COOKIE", "display_name": "Ada"}
        ).status_code
        == 201
    )
    body = b'{"forum": "health", "title": "Forged", "body": "From another site"}'
    forged = client.post(
        f"/api/jams/{scene.jam_id}/ideas", content=body, headers={"Content-Type": "text/plain"}
    )
    assert (forged.status_code, forged.json()["error"]) == (403, "forbidden")
    assert _idea(client, scene, {}).status_code == 201  # JSON, as our pages send


def test_every_response_carries_the_security_headers(world):
    client, *_ = world
    paths = ("/", "/health", "/static/openjam.css", f"/api/ideas/{uuid4()}", "/no/such/page")
    for path in paths:
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
    assert "<style>" not in client.get("/").text
    wrong_method = client.delete("/health")  # no route takes it: answered by the router
    assert wrong_method.status_code == 405
    assert wrong_method.headers["x-frame-options"] == "DENY"


def test_organizers_put_up_and_take_down_an_alert(world):
    client, _, scene, enter = world
    ada, organizer = enter(), enter("organizer")
    url = f"/api/jams/{scene.jam_id}/alerts"
    assert client.post(url, json={"message": "Break at noon"}, headers=ada).status_code == 403
    assert client.post(url, json={"message": " "}, headers=organizer).status_code == 422
    assert client.post(url, json={"message": "Break at noon"}, headers=organizer).status_code == 201
    cleared = client.delete(url, headers=organizer)
    assert cleared.status_code == 200
    # DELETE is idempotent: a retry finds nothing to clear, records nothing, and says so.
    again = client.delete(url, headers=organizer)
    assert again.status_code == 200
    assert again.json()["position"] == cleared.json()["position"]
    assert client.delete(url, headers=ada).status_code == 403


def test_a_jam_reads_back_and_lists_page_with_a_cursor(world, clock):
    client, app, scene, enter = world
    ada = enter()
    for n in range(5):
        clock.advance(timedelta(seconds=1))
        _idea(client, scene, ada, title=f"Idea {n}")
    jam = client.get(
        f"/api/jams/{scene.jam_id}", params={"after": app.position()}, headers=ada
    ).json()
    assert (jam["title"], [f["slug"] for f in jam["forums"]]) == (
        "InnovationJam",
        ["future-of-work", "health"],
    )
    everywhere = {
        "Authorization": f"Bearer {issue_token(client.app.state.secret, scene.organizer)}"
    }
    assert client.get(f"/api/jams/{uuid4()}", headers=everywhere).status_code == 404
    first = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"limit": 3}, headers=ada)
    assert [i["title"] for i in first.json()] == ["Idea 4", "Idea 3", "Idea 2"]
    rest = client.get(
        f"/api/jams/{scene.jam_id}/ideas",
        params={"limit": 3, "cursor": first.headers["x-next-cursor"]},
        headers=ada,
    )
    assert [i["title"] for i in rest.json()] == ["Idea 1", "Idea 0"]
    assert "x-next-cursor" not in rest.headers
    bad = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"cursor": "nonsense!"}, headers=ada)
    assert bad.status_code == 422
    # Newest first, the next page follows the last idea shown: an idea posted (or hidden)
    # in between made an offset repeat (or skip) one.
    clock.advance(timedelta(seconds=1))
    posted = _idea(client, scene, ada, title="Idea 5").json()["position"]
    after = client.get(
        f"/api/jams/{scene.jam_id}/ideas",
        params={"limit": 3, "cursor": first.headers["x-next-cursor"], "after": posted},
        headers=ada,
    )
    assert [i["title"] for i in after.json()] == ["Idea 1", "Idea 0"]
    top = client.get(
        f"/api/jams/{scene.jam_id}/ideas",
        params={"limit": 3, "sort": "top", "cursor": first.headers["x-next-cursor"]},
        headers=ada,
    )
    assert top.status_code == 422  # a place after an idea means nothing in another order


def test_a_jams_ideas_are_for_the_people_invited_to_it(world, clock):
    client, app, scene, enter = world
    ada = enter()
    idea = _idea(client, scene, ada).json()
    other = open_jam(app, clock)
    outsider = enter(jam=other.jam_id)
    organizer_of_all = {
        "Authorization": f"Bearer {issue_token(client.app.state.secret, scene.organizer)}"
    }
    after = {"after": app.position()}
    client.cookies.clear()  # signing in through the API set a cookie: no one is signed in now
    reads = (
        f"/api/jams/{scene.jam_id}",
        f"/api/jams/{scene.jam_id}/ideas",
        f"/api/ideas/{idea['id']}",
        f"/api/jams/{scene.jam_id}/similar",
    )
    for path in reads:
        params = {**after, "text": "anything"} if path.endswith("similar") else after
        assert client.get(path, params=params).status_code == 401, path
        assert client.get(path, params=params, headers=outsider).status_code == 403, path
        assert client.get(path, params=params, headers=ada).status_code == 200, path
        assert client.get(path, params=params, headers=organizer_of_all).status_code == 200, path
    for stream in (f"/api/jams/{scene.jam_id}/stream", f"/api/ideas/{idea['id']}/stream"):
        assert client.get(stream, params=after).status_code == 401, stream  # before streaming
        assert client.get(stream, params=after, headers=outsider).status_code == 403, stream


def test_leaders_export_the_shortlist_with_its_evidence(world):
    client, _, scene, enter = world
    ada, bea, lee = enter(), enter(segment="client"), enter("leader")
    good = _idea(client, scene, ada, title="=HYPERLINK(evil)").json()
    _idea(client, scene, ada, title="Meh")
    client.put(f"/api/ideas/{good['id']}/vote", json={"value": 1}, headers=bea)
    voted = client.put(f"/api/ideas/{good['id']}/vote", json={"value": 1}, headers=ada)
    url = f"/api/jams/{scene.jam_id}/shortlist"
    params = {"after": voted.json()["position"]}
    assert client.get(url, params=params, headers=ada).status_code == 403
    shortlist = client.get(url, params=params, headers=lee).json()
    assert shortlist["ready"]
    assert shortlist["position"] >= params["after"]  # the ranking waited for the vote
    best = shortlist["shortlist"][0]
    assert best["idea_id"] == good["id"]
    agree = {s: t["agree"] for s, t in best["by_segment"].items()}
    assert agree == {"client": 1, "employee": 1, "family": 0, "partner": 0}
    assert best["low"] <= best["wilson"] <= best["high"]
    assert best["decisions"] == []
    decided = client.post(
        f"/api/ideas/{good['id']}/decision",
        json={"decision": "funded", "note": "=1+1 in Q3"},
        headers=lee,
    )
    assert decided.status_code == 200, decided.text
    params = {"after": decided.json()["position"]}
    exported = client.get(url, params={**params, "format": "csv"}, headers=lee)
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    # The byte-order mark makes Excel read UTF-8 (without it, accents come out garbled).
    assert exported.content.startswith("\ufeffrank,idea_id,title".encode())
    text = exported.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert ",'=HYPERLINK(evil)," in lines[1]  # no formula runs in a spreadsheet
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["decision"] == "funded"
    shown = next(e for e in client.get(url, params=params, headers=lee).json()["shortlist"])
    assert (row["rank_with_all_votes"], row["rank_without_suspects"]) == (
        str(shown["rank_with_all_votes"]),
        str(shown["rank_without_suspects"]),
    )
    # As the page says it: when, what and by whom; the note last (never first: no formula).
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC funded by leader: =1\+1 in Q3", row["decisions"]
    ), row["decisions"]
    assert (row["client_agree"], row["client_passes"]) == ("1", "0")  # passes, as the JSON
    themes = client.get(url, params=params, headers=lee).json()["themes"]
    assert row["theme_rank"] == str(
        next((t["rank"] for t in themes if t["cluster_id"] == row["cluster_id"]), "")
    )


def test_a_decision_reads_back_at_once_from_a_ranking_worker_of_its_own(tmp_path, clock):
    # With `jam worker ranking` in another process, a leader's decision then the shortlist
    # "after" it waited for the jam's next refresh (up to TOPIC_REFRESH_S) and got 503: a
    # decision changes no ranking, only the worker's record of it.
    settings = Settings(
        data_dir=tmp_path / "var",
        ranking="external",
        topic_refresh_s=3600,  # no refresh falls due while the test runs
        read_wait_ms=10_000,
        writes_per_minute=1000,
    )
    app = JamApplication(settings, clock=clock)
    scene = open_jam(app, clock)
    author = scene.join()
    ideas = [scene.post_idea(author, title=f"Idea {n}") for n in range(3)]
    app.handle(c.CastVote(actor=scene.join(segment="client"), idea_id=ideas[0], value=1))
    code = uuid4().hex
    app.handle(c.IssueInvite(code=code, role="leader", jam_id=scene.jam_id))
    stop = threading.Event()
    with TestClient(create_app(settings, jam=app)) as client:
        session = client.post("/api/session", json={"invite_code": code, "display_name": "Lee"})
        lee = {"Authorization": f"Bearer {session.json()['token']}"}
        url = f"/api/jams/{scene.jam_id}/shortlist"
        views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
        worker = ranking_worker(settings, app, views, default_engine())
        worker.poll_s = 0.05
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            first = client.get(url, params={"after": app.position()}, headers=lee)
            assert first.status_code == 200, first.text  # its first refresh
            decided = client.post(
                f"/api/ideas/{ideas[0]}/decision",
                json={"decision": "funded", "note": "Q3"},
                headers=lee,
            )
            assert decided.status_code == 200, decided.text
            after = {"after": decided.json()["position"]}
            shortlist = client.get(url, params=after, headers=lee)
            assert shortlist.status_code == 200, shortlist.text
            shown = next(e for e in shortlist.json()["shortlist"] if e["idea_id"] == str(ideas[0]))
            assert [d["decision"] for d in shown["decisions"]] == ["funded"]
        finally:
            stop.set()
            thread.join()
            views.close()
    app.close()


def test_leaders_read_the_shortlist_with_and_without_suspect_votes(world):
    client, app, scene, enter = world
    segments = ("employee", "client", "family", "partner")
    author = scene.join()
    popular = [scene.post_idea(author, title=f"Popular {n}") for n in range(3)]
    weak = [scene.post_idea(author, title=f"Weak {n}") for n in range(3)]

    def vote(people, ideas, value):
        for person in people:
            for idea in ideas:
                app.clock.advance(timedelta(seconds=20))
                app.handle(c.CastVote(actor=person, idea_id=idea, value=value))

    room = [scene.join(segment=segments[n % 4]) for n in range(30)]
    vote(room, popular, 1)
    vote(room, weak, -1)
    app.clock.advance(timedelta(hours=20))
    brigade = [scene.join(segment="client") for _ in range(10)]  # new accounts, at once
    vote(brigade, weak, 1)
    vote(brigade, popular, -1)
    lee = enter("leader")
    url = f"/api/jams/{scene.jam_id}/shortlist"
    after = {"after": app.position()}

    def shown(clean: str) -> tuple[dict, dict]:
        body = client.get(url, params={**after, "clean": clean}, headers=lee).json()
        return body, {e["idea_id"]: e for e in body["shortlist"]}

    clean, clean_ideas = shown("true")
    every, every_ideas = shown("false")
    assert clean["suspect_accounts"] == every["suspect_accounts"] == 10
    assert (clean["without_suspect_votes"], every["without_suspect_votes"]) == (True, False)
    first = str(popular[0])
    against = {s: t["disagree"] for s, t in clean_ideas[first]["by_segment"].items()}
    assert against == dict.fromkeys(segments, 0)  # the brigade's votes are left out
    assert every_ideas[first]["by_segment"]["client"]["disagree"] == 10
    assert clean_ideas[first]["suspect_votes"] == every_ideas[first]["suspect_votes"] == 10
    assert clean_ideas[first]["score"] > every_ideas[first]["score"]
    page = client.get(
        f"/jams/{scene.jam_id}/leadership", params={**after, "clean": "false"}, headers=lee
    )
    assert "with every vote</strong>" in page.text


def test_the_write_limit_holds_across_workers_through_redis(tmp_path, clock):
    from tests.services import require_redis
    from ui.auth import issue_token

    settings = Settings(
        data_dir=tmp_path / "var",
        redis_url=require_redis(),
        writes_per_minute=3,
        secret_key=uuid4().hex,  # both workers check tokens with the same key
    )
    app = JamApplication(settings, clock=clock)
    scene = open_jam(app, clock)
    ada = scene.join()
    with (
        TestClient(create_app(settings, jam=app)) as one,
        TestClient(create_app(settings, jam=app)) as two,
    ):
        headers = {"Authorization": f"Bearer {issue_token(one.app.state.secret, ada)}"}
        statuses = [
            _idea(client, scene, headers, title=f"Idea {n}").status_code
            for n, client in enumerate([one, two, one, two])
        ]
    app.close()
    assert statuses == [201, 201, 201, 429]


def test_signing_in_takes_json_only_so_another_site_cannot_sign_a_visitor_in(world):
    client, app, scene, _ = world
    app.handle(c.IssueInvite(code="FORGED", role="participant", jam_id=scene.jam_id))
    body = '{"invite_code": "FORGED", "display_name": "Mallory"}'
    for kind in ("text/plain", "application/x-www-form-urlencoded"):
        forged = client.post("/api/session", content=body, headers={"content-type": kind})
        assert forged.status_code == 415, forged.text
        assert "set-cookie" not in forged.headers
    # Told so before the body is read: a real form's fields are not JSON to complain about.
    form = client.post("/api/session", data={"invite_code": "FORGED", "display_name": "M"})
    parts = client.post("/api/session", files={"invite_code": ("x", b"FORGED")})
    for refused in (form, parts):
        assert refused.status_code == 415, refused.text
        assert "JSON body" in refused.json()["detail"]
    signed = client.post(
        "/api/session", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert signed.status_code == 201


def test_a_blocked_organizer_or_leader_is_told_they_are_blocked(world):
    # Not "only organizers of this jam may see this": the role is theirs, blocked.
    client, app, scene, enter = world
    jam = f"/api/jams/{scene.jam_id}"
    for role, path in (("organizer", f"{jam}/stats"), ("leader", f"{jam}/shortlist")):
        staff = enter(role)
        assert client.get(path, headers=staff).status_code == 200
        who = UUID(_participant_of(staff))
        app.handle(c.BlockParticipant(actor=scene.organizer, participant_id=who, reason="Left"))
        refused = client.get(path, headers=staff)
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("you are blocked in this jam, so you can no")


def test_every_unreadable_query_or_header_is_named_in_fields(world):
    # A client can point at the input it got wrong, whichever check refused it.
    client, app, scene, enter = world
    ada, organizer = enter(), enter("organizer")
    jam = f"/api/jams/{scene.jam_id}"
    refusals = {
        ("text", "query"): client.get(f"{jam}/similar", params={"limit": 3}, headers=ada),
        ("cursor", "query"): client.get(f"{jam}/ideas", params={"cursor": "no!"}, headers=ada),
        ("as_of", "query"): client.get(
            f"{jam}/stats", params={"as_of": "2030-05-01T12:00:00"}, headers=organizer
        ),
        ("as_of_position", "query"): client.get(
            f"{jam}/stats", params={"as_of_position": app.position() + 99}, headers=organizer
        ),
        ("Idempotency-Key", "header"): _idea(client, scene, ada, **{"Idempotency-Key": "k" * 201}),
        ("Last-Event-ID", "header"): client.get(
            f"{jam}/stream", headers={**ada, "Last-Event-ID": "soon"}
        ),
    }
    for (key, source), refused in refusals.items():
        assert refused.status_code == 422, (key, refused.text)
        body = refused.json()
        assert [(f["key"], f["source"]) for f in body["fields"]] == [(key, source)], body
        assert body["fields"][0]["message"]
        assert "limit=3" not in body["detail"]  # the route, never the query it was given


def test_signing_out_ends_the_session_for_every_copy_of_its_token(world, tmp_path, clock):
    client, app, scene, _ = world
    app.handle(c.IssueInvite(code="TWICE", role="participant", jam_id=scene.jam_id, uses=2))
    signed = client.post("/api/session", json={"invite_code": "TWICE", "display_name": "Ada"})
    ada = {"Authorization": f"Bearer {signed.json()['token']}"}
    me = signed.json()["participant_id"]
    ideas = f"/api/jams/{scene.jam_id}/ideas"
    # The same participant in another browser: a token of its own, issued a second later.
    person = UUID(me)
    other = {
        "Authorization": f"Bearer {issue_token(client.app.state.secret, person, time.time() + 1)}"
    }
    assert client.get(ideas, headers=ada).status_code == 200
    client.cookies.clear()
    out = client.delete("/api/session", headers=ada)
    assert out.status_code == 200, out.text
    assert "Max-Age=0" in out.headers["set-cookie"]  # and the browser forgets it
    again = client.get(ideas, headers=ada)  # a copy of the token: refused at once
    assert again.status_code == 401
    assert _idea(client, scene, ada).status_code == 401
    assert client.get(ideas, headers=other).status_code == 200  # other sessions go on
    assert client.delete("/api/session", headers=ada).status_code == 401
    # Another worker, or this one restarted, on the same store refuses it too: a new
    # process knows it from the read models.
    auth._ended.clear()
    with TestClient(create_app(app.settings, jam=app)) as second:
        assert second.get(ideas, headers=ada).status_code == 401
        assert second.get(ideas, headers=other).status_code == 200
        # A session another worker ends while this one runs: refused here within a second.
        assert client.delete("/api/session", headers=other).status_code == 200
        auth._ended.clear()  # as in another process, which has not heard of it
        deadline = time.monotonic() + 5
        while second.get(ideas, headers=other).status_code == 200:
            assert time.monotonic() < deadline, "the other worker never refused the token"
            time.sleep(0.05)


def test_a_signed_out_session_stays_ended_while_the_read_models_are_rebuilt(tmp_path, clock):
    # Read models being rebuilt hold nothing for a while: the ended sessions come from the
    # log, or a copied token could make itself a personal code meanwhile (a takeover).
    settings = Settings(data_dir=tmp_path / "var", writes_per_minute=1000)
    app = JamApplication(settings, clock=clock)
    scene = open_jam(app, clock)
    app.handle(c.IssueInvite(code="ONCE", role="participant", jam_id=scene.jam_id))
    with TestClient(create_app(settings, jam=app)) as client:
        token = client.post("/api/session", json={"invite_code": "ONCE", "display_name": "P"})
        copied = {"Authorization": f"Bearer {token.json()['token']}"}
        assert client.delete("/api/session", headers=copied).status_code == 200
    views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
    with views.transaction() as cur:  # `jam projections rebuild` under way
        clear_views(cur, TRACKING_NAME)
        cur.execute("INSERT INTO rm_tracking (name, position) VALUES (?, 0)", (REBUILD_MARK,))
    views.close()
    auth._ended.clear()  # a new process
    with TestClient(create_app(settings, jam=app)) as client:
        assert client.post("/api/me/personal-code", headers=copied).status_code == 401
    app.close()


def test_without_group_commit_invites_are_recorded_one_after_another(tmp_path, clock):
    # Each command would otherwise hold a worker thread at once, and reads would wait.
    settings = Settings(data_dir=tmp_path / "var", group_commit=False, writes_per_minute=1000)
    app = JamApplication(settings, clock=clock)
    scene = open_jam(app, clock)
    handle, running, most = app.handle, [0], [0]

    def counted(command):
        running[0] += 1
        most[0] = max(most[0], running[0])
        try:
            time.sleep(0.002)
            return handle(command)
        finally:
            running[0] -= 1

    app.handle = counted  # type: ignore[method-assign]
    with TestClient(create_app(settings, jam=app)) as client:
        organizer = {
            "Authorization": f"Bearer {issue_token(client.app.state.secret, scene.organizer)}"
        }
        made = client.post(
            f"/api/jams/{scene.jam_id}/invites",
            json={"role": "participant", "count": 20},
            headers=organizer,
        )
        assert made.status_code == 201, made.text
        assert len(set(made.json()["codes"])) == 20
    assert most[0] == 1
    app.close()
