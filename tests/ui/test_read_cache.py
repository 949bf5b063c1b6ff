"""The read cache: lists and threads served from memory, never staler than the reader asks.

Each story reads once (filling the cache), changes something, and reads again: the
second read must show the change. Who sees hidden content is decided per reader, and
a body kept for an organizer never reaches anyone else.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections.db import open_views
from projections.projector import Projector
from projections.runner import ProjectionRunner
from tests.services import require_redis
from tests.stories import Scene, open_jam, with_hidden
from tests.ui.harness import read_as
from ui.app import create_app
from ui.auth import issue_token
from ui.cache import ENTRY_OVERHEAD, Body, ReadCache, jam_lists, list_tags, thread_of


def _as(client: TestClient, participant: UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(client.app.state.secret, participant)}"}


def _cache(client: TestClient) -> ReadCache:
    return client.app.state.services.cache


def _titles(client: TestClient, scene: Scene, after: int, **headers: str) -> list[str]:
    answer = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"after": after}, headers=headers)
    assert answer.status_code == 200
    return sorted(i["title"] for i in answer.json())


def test_a_write_then_a_read_shows_the_change(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    read_as(client, ada)  # a jam's ideas are for its members
    idea = scene.post_idea(ada, title="First")
    thread_url = f"/api/ideas/{idea}"

    assert _titles(client, scene, app.position()) == ["First"]
    before = client.get(thread_url, params={"after": app.position()}).json()
    assert before["idea"]["up"] == 0
    assert before["comments"] == []
    assert len(_cache(client)) == 2  # both bodies are kept
    assert client.get(thread_url).json() == before  # and served again as they were

    voted = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    assert client.get(thread_url, params={"after": voted.position}).json()["idea"]["up"] == 1
    listed = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"after": voted.position})
    assert listed.json()[0]["up"] == 1

    commented = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Yes"))
    thread = client.get(thread_url, params={"after": commented.position}).json()
    assert [x["body"] for x in thread["comments"]] == ["Yes"]

    clock.advance(timedelta(minutes=1))
    scene.post_idea(ada, title="Second")
    newest = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"after": app.position()})
    assert [i["title"] for i in newest.json()] == ["Second", "First"]


def test_without_after_a_read_is_as_fresh_as_the_read_models(served, clock):
    """Once this process's projection has applied a change, reads without `after` show it."""
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    read_as(client, ada)  # a jam's ideas are for its members
    idea = scene.post_idea(ada, title="First")
    assert _titles(client, scene, app.position()) == ["First"]
    position = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1)).position
    assert client.app.state.services.runner.wait_for(position)
    assert client.get(f"/api/jams/{scene.jam_id}/ideas").json()[0]["up"] == 1
    assert client.get(f"/api/ideas/{idea}").json()["idea"]["up"] == 1


def test_a_new_name_reaches_cached_lists_and_threads(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join(name="Ada")
    read_as(client, ada)  # a jam's ideas are for its members
    idea = scene.post_idea(ada)
    app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="Mine"))
    at = app.position()
    assert client.get(f"/api/ideas/{idea}", params={"after": at}).json()["idea"]["author_name"] == (
        "Ada"
    )
    renamed = app.handle(c.RenameParticipant(actor=ada, participant_id=ada, display_name="Adele"))
    thread = client.get(f"/api/ideas/{idea}", params={"after": renamed.position}).json()
    assert thread["idea"]["author_name"] == "Adele"
    assert thread["comments"][0]["author_name"] == "Adele"
    listed = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"after": renamed.position})
    assert listed.json()[0]["author_name"] == "Adele"


def test_hidden_content_is_kept_apart_by_role(served, clock):
    client, app = served
    story = with_hidden(app, clock)
    scene, ada, bob, shown, hidden, at = (
        story.scene,
        story.ada,
        story.bob,
        story.shown,
        story.hidden,
        story.position,
    )
    organizer, reader = _as(client, scene.organizer), _as(client, bob)

    # The organizer reads first, so their bodies are in the cache when the others read.
    assert _titles(client, scene, at, **organizer) == ["Hidden", "Shown"]
    thread = client.get(f"/api/ideas/{hidden}", params={"after": at}, headers=organizer)
    assert thread.json()["hidden_reason"] == "off topic"
    comments = client.get(f"/api/ideas/{shown}", headers=organizer).json()["comments"]
    assert comments[0]["body"] == "Rude words"
    assert client.get(f"/api/ideas/{shown}").status_code == 401  # not signed in: nothing
    author = _as(client, ada)
    for headers in (reader, author):
        assert _titles(client, scene, at, **headers) == ["Shown"]
        # Its author alone, of the participants, reads the hidden idea: apart, never kept.
        own = client.get(f"/api/ideas/{hidden}", headers=headers)
        assert own.status_code == (200 if headers is author else 404)
        comments = client.get(f"/api/ideas/{shown}", headers=headers).json()["comments"]
        assert (comments[0]["hidden"], comments[0]["body"]) == (True, "")
    # And the other way round: the participants' bodies are not what the organizer gets.
    assert _titles(client, scene, at, **organizer) == ["Hidden", "Shown"]


def test_a_blocked_organizer_stops_seeing_hidden_content_at_once(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    other = scene.join(role="organizer", name="Otto")
    hidden = scene.post_idea(ada, title="Hidden")
    done = app.handle(c.HideIdea(actor=scene.organizer, idea_id=hidden, reason="spam"))
    otto = _as(client, other)
    assert _titles(client, scene, done.position, **otto) == ["Hidden"]
    # Blocked in the event store: the next read knows, before any projection has run.
    app.handle(c.BlockParticipant(actor=scene.organizer, participant_id=other, reason="left"))
    assert _titles(client, scene, done.position, **otto) == []
    assert client.get(f"/api/ideas/{hidden}", headers=otto).status_code == 404


def test_a_vote_reorders_the_top_ideas_and_leaves_pages_it_cannot_change(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada, bob, cy = scene.join(), scene.join(name="Bob"), scene.join(name="Cy")
    read_as(client, ada)  # a jam's ideas are for its members
    first = scene.post_idea(ada, title="First")
    clock.advance(timedelta(minutes=1))
    second = scene.post_idea(ada, title="Second")
    at = app.handle(c.CastVote(actor=bob, idea_id=first, value=1)).position
    url = f"/api/jams/{scene.jam_id}/ideas"

    def page(sort: str, offset: int, after: int | None = None) -> list[tuple[str, int]]:
        params = {"sort": sort, "limit": 1, "offset": offset, "after": after or at}
        return [(i["title"], i["up"]) for i in client.get(url, params=params).json()]

    assert page("top", 0) == [("First", 1)]
    assert page("new", 0) == [("Second", 0)]
    assert page("new", 1) == [("First", 1)]
    app.handle(c.CastVote(actor=bob, idea_id=second, value=1))
    voted = app.handle(c.CastVote(actor=cy, idea_id=second, value=1)).position
    assert page("top", 0, voted) == [("Second", 2)]  # not shown before, on top now
    assert page("new", 0, voted) == [("Second", 2)]
    kept = ("ideas", scene.jam_id, None, "new", 1, 1, False)
    assert _cache(client).get(kept, voted) is not None  # the votes could not change this page
    assert page("new", 1, voted) == [("First", 1)]


def test_pages_of_a_list_are_kept_apart_with_their_cursors(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    read_as(client, ada)  # a jam's ideas are for its members
    for title in ("One", "Two", "Three"):
        clock.advance(timedelta(minutes=1))
        scene.post_idea(ada, title=title)
    url, at = f"/api/jams/{scene.jam_id}/ideas", app.position()
    for _ in range(2):  # filled, then from the cache
        first = client.get(url, params={"limit": 2, "after": at})
        rest = client.get(url, params={"limit": 2, "cursor": first.headers["x-next-cursor"]})
        assert [i["title"] for i in first.json()] == ["Three", "Two"]
        assert [i["title"] for i in rest.json()] == ["One"]
        assert "x-next-cursor" not in rest.headers


def test_without_the_cache_reads_answer_the_same(tmp_path, clock):
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_cache_mb=0), clock=clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        scene = open_jam(app, clock)
        ada = scene.join()
        read_as(client, ada)  # a jam's ideas are for its members
        idea = scene.post_idea(ada, title="Only")
        assert _titles(client, scene, app.position()) == ["Only"]
        assert client.get(f"/api/ideas/{idea}").json()["idea"]["title"] == "Only"
        assert len(_cache(client)) == 0
    app.close()


# The cache itself, on read models another runner projects (as another worker would).


@pytest.fixture
def projected(app):
    s = app.settings
    views = open_views(s.database_url, s.database_schema, s.data_dir)
    decoder = app.mapper.transcoder.views_decoder  # type: ignore[attr-defined]
    runner = ProjectionRunner(app.recorder, views, Projector(decoder))
    yield app, views, runner
    views.close()


def _read(views, cache: ReadCache) -> int:
    with views.reading() as cur:
        return cache.sync(cur)


def test_the_cache_follows_the_feed_whoever_projected(projected, clock):
    app, views, runner = projected
    scene = open_jam(app, clock)
    ada = scene.join()
    idea, other = scene.post_idea(ada), scene.post_idea(ada, title="Other")
    runner.catch_up()
    cache = ReadCache(1 << 20, feed_retention=1000)
    at = _read(views, cache)
    jam = str(scene.jam_id)
    cache.put("newest", Body(b"[]"), list_tags(jam, "new", [str(other)]), at)
    cache.put("top", Body(b"[]"), list_tags(jam, "top", [str(other)]), at)
    cache.put("thread", Body(b"{}"), (thread_of(str(idea)),), at)
    cache.put("other", Body(b"{}"), (thread_of(str(other)),), at)
    assert cache.get("thread", at) == Body(b"{}")
    assert cache.get("thread", at + 1) is None  # not known to be fresh that far

    app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    runner.catch_up()  # no callback: the cache learns it from the read models' feed
    now = _read(views, cache)
    assert now > at
    assert cache.get("thread", now) is None
    assert cache.get("top", now) is None  # the vote may reorder the top ideas
    assert cache.get("newest", now) == Body(b"[]")  # the newest, without that idea, stay
    assert cache.get("other", now) == Body(b"{}")  # untouched by the vote

    scene.post_idea(ada, title="Third")
    runner.catch_up()
    assert cache.get("newest", _read(views, cache)) is None  # a new idea changes every list


def test_a_body_read_before_a_change_already_applied_is_not_kept(projected, clock):
    app, views, runner = projected
    scene = open_jam(app, clock)
    idea = scene.post_idea(scene.join())
    runner.catch_up()
    cache = ReadCache(1 << 20, feed_retention=1000)
    before = _read(views, cache)
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="spam"))
    runner.catch_up()
    assert _read(views, cache) > before  # another read applied the feed meanwhile
    cache.put("thread", Body(b"{}"), (thread_of(str(idea)),), before)
    assert len(cache) == 0


def test_the_cache_forgets_all_when_the_feed_no_longer_reaches_back(projected, clock):
    app, views, runner = projected
    scene = open_jam(app, clock)
    ada = scene.join()
    runner.catch_up()
    cache = ReadCache(1 << 20, feed_retention=1)
    at = _read(views, cache)
    cache.put("elsewhere", Body(b"[]"), (jam_lists("another jam"),), at)
    scene.post_idea(ada)
    scene.post_idea(ada)
    runner.catch_up()
    assert cache.get("elsewhere", _read(views, cache)) is None


def test_the_cache_keeps_to_its_size():
    body = Body(b"x" * (1000 - ENTRY_OVERHEAD))  # costs 1,000 bytes with its bookkeeping
    cache = ReadCache(10_000, feed_retention=1)
    cache.through = 5
    for k in range(50):
        cache.put(k, body, (f"tag:{k}",), 5)
    assert len(cache) == 10
    assert cache.get(49, 5) is not None
    assert cache.get(0, 5) is None  # the oldest went first
    cache.put("huge", Body(b"x" * 9000), ("tag",), 5)
    assert cache.get("huge", 5) is None  # one body may not push out all the others


def test_many_tiny_bodies_cannot_outgrow_the_bound():
    """Empty pages of made-up forums are two bytes each; their keys are not free."""
    cache = ReadCache(100 * ENTRY_OVERHEAD, feed_retention=1)
    cache.through = 5
    for k in range(10_000):
        cache.put(("ideas", f"forum-{k}"), Body(b"[]"), ("jam:x",), 5)
    assert len(cache) < 100


def test_a_worker_that_only_watches_serves_what_the_projection_worker_applied(tmp_path, clock):
    """With `jam worker projections` elsewhere, the cache learns every change from the feed."""
    settings = Settings(
        data_dir=tmp_path / "var", redis_url=require_redis(), projections="external"
    )
    app = JamApplication(settings, clock=clock)
    views = open_views(None, "", settings.data_dir)
    decoder = app.mapper.transcoder.views_decoder  # type: ignore[attr-defined]
    worker = ProjectionRunner(app.recorder, views, Projector(decoder))  # the other process's
    try:
        scene = open_jam(app, clock)
        ada = scene.join()
        idea = scene.post_idea(ada)
        worker.catch_up()
        with TestClient(create_app(settings, jam=app)) as client:
            read_as(client, ada)  # a jam's ideas are for its members
            assert client.get(f"/api/ideas/{idea}").json()["idea"]["up"] == 0
            assert client.get(f"/api/jams/{scene.jam_id}/ideas").json()[0]["up"] == 0
            assert len(_cache(client)) == 2
            app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
            worker.catch_up()  # announced on no channel: the reads look at the read models
            assert client.get(f"/api/ideas/{idea}").json()["idea"]["up"] == 1
            assert client.get(f"/api/jams/{scene.jam_id}/ideas").json()[0]["up"] == 1
    finally:
        views.close()
        app.close()


def test_this_process_projection_brings_the_cache_up_to_date_without_a_read(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    read_as(client, ada)  # a jam's ideas are for its members
    idea = scene.post_idea(ada)
    assert client.get(f"/api/ideas/{idea}", params={"after": app.position()}).status_code == 200
    runner = client.app.state.services.runner
    told, original = threading.Event(), runner._on_updates

    def relay(updates):
        original(updates)
        if any(u.kind == "vote" for u in updates):
            told.set()

    runner.on_updates(relay)
    voted = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    assert told.wait(10)
    cache = _cache(client)
    assert cache.through >= voted.position  # told by the projection, not by reading the feed
    assert cache.get(("thread", idea, False), voted.position) is None  # and the thread dropped
