"""Pages from the read cache: a page of the jam's ideas and a thread's comments are rendered
once for all the readers of one kind, and dropped when the API's list or thread is.

Each story reads a page (filling the cache), changes something, and reads again: the
second read must show the change. What is a reader's own (their vote, flag, CSRF token,
form keys and edit forms) is never shared, and an organizer's rendering, which shows what
is hidden, never reaches anyone else.
"""

from __future__ import annotations

import re
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections import queries
from tests.stories import Scene, open_jam, with_hidden
from ui.app import create_app
from ui.auth import SESSION_COOKIE, issue_token
from ui.cache import ReadCache
from ui.notices import place_key

XSS = '<script>alert("owned")</script><img src=x onerror=alert(1)>'


def _as(client: TestClient, participant: UUID) -> None:
    client.cookies.set(SESSION_COOKIE, issue_token(client.app.state.secret, participant))


def _cache(client: TestClient) -> ReadCache:
    return client.app.state.services.cache


def _page(client: TestClient, path: str, after: int | None = None, **params: str) -> str:
    answer = client.get(path, params={**params, **({"after": after} if after is not None else {})})
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.text


def _listed(html: str) -> list[tuple[str, int]]:
    """The (title, up votes) of each idea the page lists."""
    ol = html.split('<ol class="ideas">')[1].split("</ol>")[0]
    return [
        (title, int(up))
        for title, up in re.findall(r'<a href="/ideas/[^"]+"[^>]*>([^<]*)</a>.*?▲(\d+)', ol, re.S)
    ]


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count the reads of `queries.<name>` from now on."""
    calls, original = [], getattr(queries, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(queries, name, counted)
    return calls


def _jam_page_key(scene: Scene, organizer: bool = False) -> tuple:
    return ("jam page", scene.jam_id, None, "new", 0, organizer)


def test_a_page_of_ideas_is_read_and_rendered_once_for_its_readers(served, clock, monkeypatch):
    client, app = served
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    scene.post_idea(ada, title="Walking meetings")
    at = app.position()
    reads = _counting(monkeypatch, "ideas")
    for reader in (ada, bob, ada):
        _as(client, reader)
        assert _listed(_page(client, f"/jams/{scene.jam_id}", at)) == [("Walking meetings", 0)]
    assert len(reads) == 1
    assert _cache(client).get(_jam_page_key(scene), at) is not None


def test_a_vote_a_hide_an_edit_and_a_new_name_reach_a_kept_page_of_ideas(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    idea = scene.post_idea(ada, title="Walking meetings")
    page, cache = f"/jams/{scene.jam_id}", _cache(client)
    _as(client, bob)
    assert _listed(_page(client, page, app.position())) == [("Walking meetings", 0)]
    assert cache.get(_jam_page_key(scene), app.position()) is not None

    voted = app.handle(c.CastVote(actor=bob, idea_id=idea, value=1)).position
    assert _listed(_page(client, page, voted)) == [("Walking meetings", 1)]

    edit = c.EditIdea(actor=ada, idea_id=idea, title="Standing meetings", body="Try it.")
    edited = app.handle(edit).position
    assert _listed(_page(client, page, edited)) == [("Standing meetings", 1)]

    renamed = app.handle(c.RenameParticipant(actor=ada, participant_id=ada, display_name="Adele"))
    assert "by Adele (employee)" in _page(client, page, renamed.position)

    hide = c.HideIdea(actor=scene.organizer, idea_id=idea, reason="off topic")
    hidden = app.handle(hide).position
    assert _listed(_page(client, page, hidden)) == []
    _as(client, scene.organizer)
    shown = _page(client, page, hidden)
    assert _listed(shown) == [("Standing meetings", 1)]
    assert "· hidden" in shown


def test_a_change_a_page_cannot_show_leaves_it_kept(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    shown = scene.post_idea(ada, title="Shown")
    _as(client, ada)
    # A page of another forum, which the idea is not on.
    assert "No ideas here yet." in _page(
        client, f"/jams/{scene.jam_id}", app.position(), forum="health"
    )
    voted = app.handle(c.CastVote(actor=ada, idea_id=shown, value=1)).position
    kept = ("jam page", scene.jam_id, "health", "new", 0, False)
    assert client.app.state.services.runner.wait_for(voted)
    assert _cache(client).get(kept, voted) is not None  # newest first: a vote moves nothing
    assert _cache(client).get(_jam_page_key(scene), voted) is None  # not kept: never read


def test_what_is_hidden_never_reaches_a_participant_from_an_organizers_rendering(served, clock):
    client, app = served
    story = with_hidden(app, clock)
    scene, ada, shown, hidden, at = (
        story.scene,
        story.ada,
        story.shown,
        story.hidden,
        story.position,
    )

    # The organizer reads first: their renderings are kept when the participant reads.
    _as(client, scene.organizer)
    listed = _listed(_page(client, f"/jams/{scene.jam_id}", at))
    assert {t for t, _ in listed} == {"Shown", "Hidden"}
    assert "Rude words" in _page(client, f"/ideas/{shown}", at)
    assert _cache(client).get(_jam_page_key(scene, organizer=True), at) is not None
    assert _cache(client).get(("thread page", shown, True, True), at) is not None

    _as(client, ada)
    assert _listed(_page(client, f"/jams/{scene.jam_id}", at)) == [("Shown", 0)]
    thread = _page(client, f"/ideas/{shown}", at)
    assert "Rude words" not in thread
    assert "Hidden by an organizer." in thread
    assert "/moderation" not in thread  # none of the organizer's forms either
    # Her own hidden idea is hers to read, read for her alone: nothing of it is kept.
    assert "An organizer hid your idea: off topic." in _page(client, f"/ideas/{hidden}", at)
    assert _cache(client).get(("thread page", hidden, False, True), at) is None
    _as(client, story.bob)
    assert client.get(f"/ideas/{hidden}").status_code == 404


def test_a_kept_thread_is_each_readers_own_vote_flag_keys_and_edit_forms(
    served, clock, monkeypatch
):
    client, app = served
    scene = open_jam(app, clock)
    ada, bob, cy = scene.join(name="Ada"), scene.join(name="Bob"), scene.join(name="Cy")
    idea = scene.post_idea(ada, title="Walking meetings")
    said = uuid4()
    app.handle(c.PostComment(actor=bob, comment_id=said, idea_id=idea, body="Yes, outdoors"))
    app.handle(c.CastVote(actor=bob, idea_id=idea, value=1))
    at = app.handle(c.FlagIdea(actor=bob, idea_id=idea, reason="a duplicate")).position
    reads, secret = _counting(monkeypatch, "thread"), client.app.state.secret

    _as(client, cy)  # fills the cache
    seen_by_cy = _page(client, f"/ideas/{idea}", at)
    _as(client, bob)
    seen_by_bob = _page(client, f"/ideas/{idea}", at)
    assert len(reads) == 1

    assert "You have not voted." in seen_by_cy
    assert "Your vote: support it." in seen_by_bob
    assert "You have flagged this idea" in seen_by_bob
    assert "You have flagged this idea" not in seen_by_cy
    assert "Edit your comment" in seen_by_bob  # their own comment, rendered for them
    assert "Edit your comment" not in seen_by_cy
    for reader, html in ((cy, seen_by_cy), (bob, seen_by_bob)):
        reply = html.split(f'name="parent_id" value="{said}"><input type="hidden" name="key"')[1]
        assert reply.startswith(f' value="{place_key(secret, reader, idea, str(said))}"')
        tokens = set(re.findall(r'name="_csrf_token" value="([^"]*)"', html))
        assert len(tokens) == 1, tokens  # one reader's token in every form
        assert "<!--hole" not in html


def test_a_comment_a_hidden_comment_and_a_new_name_reach_a_kept_thread(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    idea = scene.post_idea(ada, title="Walking meetings")
    thread = f"/ideas/{idea}"
    _as(client, ada)
    assert "Discussion (0)" in _page(client, thread, app.position())
    assert _cache(client).get(("thread page", idea, False, True), app.position()) is not None

    said = uuid4()
    commented = app.handle(c.PostComment(actor=bob, comment_id=said, idea_id=idea, body="Yes"))
    assert '<p class="body-text" dir="auto">Yes</p>' in _page(client, thread, commented.position)

    renamed = app.handle(c.RenameParticipant(actor=bob, participant_id=bob, display_name="Rob"))
    assert "Rob (employee)" in _page(client, thread, renamed.position)

    hide = c.HideComment(actor=scene.organizer, comment_id=said, reason="rude")
    hidden = app.handle(hide).position
    html = _page(client, thread, hidden)
    assert '<p class="body-text" dir="auto">Yes</p>' not in html
    assert "Hidden by an organizer." in html


def test_text_that_looks_like_a_hole_is_shown_as_typed_and_user_text_stays_inert(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada, bob = scene.join(name=XSS[:60]), scene.join(name="Bob")
    idea = scene.post_idea(ada, title=XSS[:120], body=XSS)
    sly = f"{XSS} <!--hole csrf--> <!--hole key {uuid4()}-->"
    at = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body=sly)).position
    for reader in (bob, bob, ada):  # filled, from the cache, rendered apart for the author
        _as(client, reader)
        for path in (f"/jams/{scene.jam_id}", f"/ideas/{idea}"):
            html = _page(client, path, at)
            assert "<script>alert" not in html, path
            assert "<img src=x" not in html, path
            assert "&lt;script&gt;" in html, path
            assert "<!--hole" not in html, path
        assert "&lt;!--hole csrf--&gt; &lt;!--hole key" in html  # the comment, as typed


def test_pages_answer_the_same_without_the_cache(tmp_path, clock):
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_cache_mb=0), clock=clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        scene = open_jam(app, clock)
        ada = scene.join()
        idea = scene.post_idea(ada, title="Only")
        at = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Mine"))
        _as(client, ada)
        assert _listed(_page(client, f"/jams/{scene.jam_id}", at.position)) == [("Only", 0)]
        thread = _page(client, f"/ideas/{idea}", at.position)
        assert '<p class="body-text" dir="auto">Mine</p>' in thread
        assert "Edit your comment" in thread
        assert f"stream?after={at.position}" in thread
        assert len(_cache(client)) == 0
    app.close()


def test_renaming_an_organizer_of_every_jam_reaches_the_kept_pages(served, clock):
    # An organizer without a jam of their own writes in any jam: a rename is noted in each
    # jam they wrote in, and drops what shows their name there.
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join(name="Ada")
    idea = scene.post_idea(ada, title="Walking meetings")
    app.handle(c.PostComment(actor=scene.organizer, comment_id=uuid4(), idea_id=idea, body="Nice"))
    scene.post_idea(scene.organizer, title="Standing desks")
    at = app.position()
    _as(client, ada)
    assert "Olga (" in _page(client, f"/ideas/{idea}", at)
    assert "by Olga" in _page(client, f"/jams/{scene.jam_id}", at)
    renamed = app.handle(
        c.RenameParticipant(
            actor=scene.organizer, participant_id=scene.organizer, display_name="Oksana"
        )
    ).position
    assert "Oksana (" in _page(client, f"/ideas/{idea}", renamed)
    assert "by Oksana" in _page(client, f"/jams/{scene.jam_id}", renamed)
    api = client.get(f"/api/ideas/{idea}", params={"after": renamed}).json()
    assert api["comments"][0]["author_name"] == "Oksana"
