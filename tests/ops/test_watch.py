"""A web worker that does not project watches the read models' position for `?after=` reads."""

from __future__ import annotations

import time
from uuid import uuid4

import msgspec
import redis
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections.pipeline import feed_between
from projections.watch import ProjectionWatch, projected_channel
from tests.reliability.checks import Now
from tests.services import require_redis
from tests.stories import open_jam
from tests.ui.harness import read_as
from ui.app import create_app
from ui.bootstrap import build
from ui.live import jam_channel
from ui.workers import RedisPublisher, publish_unpublished


def test_reads_wait_for_the_position_another_runner_reaches(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", redis_url=require_redis())
    channel = projected_channel(f"watch-{uuid4().hex}")  # this test's own announcements
    web = build(settings, watch_only=True)
    assert isinstance(
        web.runner, ProjectionWatch
    )  # what a web worker with external projections gets
    worker = build(settings)
    watch = ProjectionWatch(web.views, settings.redis_url, channel)
    publisher = RedisPublisher(settings.redis_url, channel)
    try:
        assert watch.position == 0  # no read models yet: nothing to read, no error
        watch.start()
        done = worker.jam.handle(c.IssueInvite(code=uuid4().hex, role="organizer"))
        assert not watch.wait_for(done.position, timeout=0.3)  # nobody projects yet
        worker.runner.on_updates(publisher)
        worker.runner.start()
        assert watch.wait_for(done.position, timeout=30)
        assert watch.position == done.position
        assert watch.error is None
    finally:
        watch.stop()
        publisher.close()
        worker.close()
        web.close()


def test_the_announcement_channel_is_per_read_model_schema():
    assert projected_channel("") == "openjam:projected:public"
    assert projected_channel("t_1") != projected_channel("t_2")


def test_a_projection_worker_starting_publishes_what_its_predecessor_did_not(tmp_path):
    # Killed between committing a page and publishing it, a worker leaves updates no
    # stream hears of; its successor sends the feed past the position last published.
    settings = Settings(data_dir=tmp_path / "var", redis_url=require_redis())
    worker = build(settings)
    scene = open_jam(worker.jam, Now())
    author = scene.join()
    ideas = [scene.post_idea(author, title=f"Idea {n}") for n in range(3)]
    worker.runner.catch_up()
    mark = f"openjam:test:published:{uuid4().hex}"
    publisher = RedisPublisher(settings.redis_url, None, mark=mark)
    listener = redis.Redis.from_url(settings.redis_url)
    subscription = listener.pubsub(ignore_subscribe_messages=True)
    subscription.subscribe(jam_channel(str(scene.jam_id)))
    try:
        with worker.views.reading() as cur:
            feed = [u for u in feed_between(cur, 0, worker.jam.position()) if u.kind == "idea"]
        published_up_to = feed[0].position  # the first idea was published, the others not
        listener.set(mark, published_up_to)
        assert publish_unpublished(worker.views, publisher) > 0
        heard = _heard(subscription)
        assert {u["item_id"] for u in heard if u["kind"] == "idea"} == {str(i) for i in ideas[1:]}
        assert min(u["position"] for u in heard) > published_up_to
        assert int(listener.get(mark)) == worker.jam.position()  # recorded as it went

        listener.delete(mark)  # lost by Redis: the last positions are sent again
        assert publish_unpublished(worker.views, publisher) > 0
        assert {str(i) for i in ideas} <= {u["item_id"] for u in _heard(subscription)}
    finally:
        publisher.close()
        listener.delete(mark)
        subscription.close()
        listener.close()
        worker.close()


def _heard(subscription, quiet_s: float = 0.5) -> list[dict]:
    """Every update heard until the channel stays quiet for `quiet_s`."""
    heard: list[dict] = []
    quiet_until = time.monotonic() + quiet_s
    while time.monotonic() < quiet_until:
        # None also for the subscription's own confirmation, which it leaves out.
        message = subscription.get_message(timeout=0.05)
        if message is not None:
            heard.extend(msgspec.json.decode(message["data"]))
            quiet_until = time.monotonic() + quiet_s
    return heard


def test_a_web_worker_that_projects_sends_the_recent_feed_again_as_it_starts(tmp_path):
    # With every worker projecting, one killed between a commit and its publish leaves
    # updates the others find applied: the worker started in its place sends them.
    settings = Settings(data_dir=tmp_path / "var", redis_url=require_redis())
    app = JamApplication(settings)
    scene = open_jam(app, Now())
    ada = scene.join()
    idea = scene.post_idea(ada)
    with TestClient(create_app(settings, jam=app)) as first:
        read_as(first, ada)
        assert first.get("/api/ideas/" + str(idea), params={"after": app.position()}).is_success
    listener = redis.Redis.from_url(settings.redis_url)
    subscription = listener.pubsub(ignore_subscribe_messages=True)
    subscription.subscribe(jam_channel(str(scene.jam_id)))
    try:
        with TestClient(create_app(settings, jam=app)):  # nothing new to project
            heard = _heard(subscription)
    finally:
        subscription.close()
        listener.close()
        app.close()
    assert str(idea) in {u["item_id"] for u in heard if u["kind"] == "idea"}
