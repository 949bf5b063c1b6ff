"""Redis down under load: writes go on, live updates resume, clients catch up."""

from __future__ import annotations

import asyncio
import threading
import time
from uuid import uuid4

import pytest
import redis
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections.db import SQLiteViews
from projections.projector import Update
from tests.projections.conftest import runner_for
from tests.reliability.checks import Now, assert_nothing_lost, jam_feed, jam_for_load, load_on
from tests.reliability.load import Follower
from tests.reliability.processes import serve, store_env
from tests.stories import open_jam
from tests.ui.harness import SSEClient, member_token, web_worker
from ui import live
from ui.app import create_app
from ui.workers import RedisPublisher, publish_unpublished

WRITERS = 4
FOLLOWERS = 4


@pytest.mark.slow
def test_writes_go_on_while_redis_is_down_and_live_updates_resume_after(
    tmp_path, shared_store, writer_app, redis_server, outage_s
):
    """Followers that stay connected get every update through the server's resync; one
    cut off during the outage gets what it missed by resuming with its Last-Event-ID."""
    url, schema = shared_store
    jam = jam_for_load(writer_app, WRITERS)
    start = writer_app.position()
    with serve(tmp_path, store_env(url, schema, redis_server.url), workers=2) as server:
        load = load_on(server.base, jam, start, FOLLOWERS)
        cut_off = Follower(load.followers[0].url, start, load.closed, load.followers[0].token)
        load.start()
        cut_off.start()
        try:
            cut_off.wait_connected()
            load.wait_for_acks(30)
            redis_server.stop()
            down = time.monotonic()
            # Load keeps running through the outage: its length is the point of the test.
            time.sleep(outage_s / 2)
            resumes_from = cut_off.cut()  # its connection closed, as by a network cut
            cut_at = time.monotonic()
            time.sleep(outage_s / 2)
            redis_server.start()
            up = time.monotonic()
            cut_off.resume()  # reconnects with its Last-Event-ID
            acks, missing = load.settle()
            feed = jam_feed(url, schema, jam.jam_id, start)
            deadline = time.monotonic() + 60  # for them all: each has had time already
            unreceived = [
                f.wait_to_receive(feed, deadline - time.monotonic())
                for f in [*load.followers, cut_off]
            ]
        finally:
            load.close()

    assert_nothing_lost(writer_app, load, acks)
    during = [a for a in acks if down <= a.at <= up]
    after = [a for a in acks if a.at > up]
    assert during, "no write was acknowledged while Redis was down"
    assert after, "no write was acknowledged after Redis was back"
    assert {r.status for r in load.refusals()} <= {503}
    # Every write acknowledged, and every update of the read models' feed, reached every
    # follower: live updates resumed and caught up with what was written meanwhile.
    assert {str(a.id) for a in acks} <= {item for _, _, item in feed}
    assert [m for m in missing if m] == []
    assert [sorted(u) for u in unreceived[:FOLLOWERS] if u] == []
    # They stayed connected: the server resynced them, not a reconnect of theirs.
    assert [f.reconnects for f in load.followers] == [0] * FOLLOWERS

    # The client cut off reconnected once, with its Last-Event-ID, after Redis was back,
    # and that connection brought everything past it: what was written before the cut
    # and held for Redis, what was written while it was away, and what came after.
    missed = {u for u in feed if u[0] > resumes_from}
    away = {str(a.id) for a in acks if cut_at < a.sent and a.at <= up}
    assert away, "no write was acknowledged while the client was cut off and Redis was down"
    assert cut_off.reconnects == 1
    assert [c.last_event_id for c in cut_off.connections] == [start, resumes_from]
    assert sorted(missed - cut_off.connections[-1].received) == []
    assert away <= {item for _, _, item in cut_off.connections[-1].received}
    assert sorted(unreceived[FOLLOWERS]) == []
    print(
        f"\nredis outage: {outage_s:.0f} s down, {len(acks)} writes acknowledged "
        f"({len(during)} while down, {len(after)} after), 0 lost; outcomes "
        f"{dict(load.outcomes())}; {len(feed)} feed updates received by each of "
        f"{FOLLOWERS} followers (reconnects {[f.reconnects for f in load.followers]}); "
        f"the client cut off mid-outage resumed from {resumes_from} and received the "
        f"{len(missed)} it missed ({len(away)} writes acknowledged while it was away)"
    )


def test_writes_are_accepted_while_the_rate_limit_counters_in_redis_are_unreachable(
    tmp_path, redis_server
):
    settings = Settings(data_dir=tmp_path / "var", redis_url=redis_server.url)
    app = JamApplication(settings)
    jam = jam_for_load(app, 1)
    with TestClient(create_app(settings, jam=app)) as client:
        redis_server.stop()
        session = client.post(
            "/api/session", json={"invite_code": jam.invite_codes[0], "display_name": "Ada"}
        )
        assert session.status_code == 201, session.text
        posted = client.post(
            f"/api/jams/{jam.jam_id}/ideas",
            json={"forum": "health", "title": "Still open", "body": "Redis is down"},
            headers={"Authorization": f"Bearer {session.json()['token']}"},
        )
        assert posted.status_code == 201, posted.text
    app.close()


@pytest.mark.slow
def test_a_connected_stream_gets_what_was_written_while_redis_was_down(tmp_path, redis_server):
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())  # type: ignore[arg-type]
    ada = scene.join()
    with web_worker(tmp_path, {"OPENJAM_REDIS_URL": redis_server.url}) as base:
        stream = SSEClient(
            f"{base}/api/jams/{scene.jam_id}/stream",
            last_event_id=app.position(),
            token=member_token(tmp_path / "var", ada),
        )
        before = scene.post_idea(ada, title="Before")
        assert stream.next().data["item_id"] == str(before)
        redis_server.stop()
        during = scene.post_idea(ada, title="While Redis is down")
        redis_server.start()
        # Broadcast was impossible; the stream resyncs from the feed once Redis is back.
        assert stream.next(timeout=30).data["item_id"] == str(during)
        after = scene.post_idea(ada, title="After")
        assert stream.next().data["item_id"] == str(after)
        stream.close()
    app.close()


def _backend(url: str) -> live.ReconnectingRedisBackend:
    from redis.asyncio import Redis

    return live.ReconnectingRedisBackend(redis=Redis.from_url(url))


async def _until(found, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not found():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_an_update_published_while_redis_is_down_is_held_until_it_is_back(redis_server):
    """Dropped at once, an update could reach no stream: one whose subscription came back
    before the publish failed has already resynced, and later updates move it on."""

    async def main() -> None:
        publisher, subscriber = _backend(redis_server.url), _backend(redis_server.url)
        await subscriber.subscribe(["jam:x"])
        got: list[tuple[float, bytes]] = []

        async def follow() -> None:
            async for _, data in subscriber.stream_events():
                got.append((time.monotonic(), data))

        following = asyncio.create_task(follow())
        await publisher.publish(b'"one"', ["jam:x"])
        await _until(lambda: any(data == b'"one"' for _, data in got))
        redis_server.stop()
        held = asyncio.create_task(publisher.publish(b'"two"', ["jam:x"]))
        await asyncio.sleep(3 * live.REDIS_RETRY_S)
        assert not held.done()  # waiting for Redis, not dropped
        redis_server.start()
        await asyncio.wait_for(held, 20)
        published = time.monotonic()
        # Either the subscriber was back in time to receive it, or it came back after
        # and was told to resync from the feed (which holds the update).
        await _until(
            lambda: any(
                data == b'"two"' or (data == live.RESYNC and at >= published) for at, data in got
            )
        )
        following.cancel()
        for backend in (publisher, subscriber):
            await backend.on_shutdown()

    asyncio.run(main())


def test_a_stopping_worker_does_not_wait_for_redis_to_publish(redis_server):
    async def main() -> None:
        publisher = _backend(redis_server.url)
        redis_server.stop()
        publisher.hold.release()
        await asyncio.wait_for(publisher.publish(b'"late"', ["jam:x"]), 5)
        await publisher.on_shutdown()

    asyncio.run(main())


def _published(url: str) -> int:
    """PUBLISH commands the Redis server has run since it started."""
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("commandstats").get("cmdstat_publish", {}).get("calls", 0))
    finally:
        client.close()


def test_the_projection_worker_holds_its_updates_while_redis_is_down(redis_server):
    """The same race as the web worker's, for `jam worker projections` (ui/workers.py)."""
    publisher = RedisPublisher(redis_server.url, "openjam:test:announce")
    try:
        redis_server.stop()
        publisher([Update(7, "jam", "idea", "i7", "i7")])  # the projection is not held up
        time.sleep(3 * live.REDIS_RETRY_S)
        redis_server.start()  # a fresh server: its counts start at zero
        deadline = time.monotonic() + 20
        while _published(redis_server.url) < 3:  # the jam's channel, the idea's, the announcement
            assert time.monotonic() < deadline, "the held update was never published"
            time.sleep(0.05)
    finally:
        publisher.close()


def test_a_stopping_projection_worker_does_not_wait_for_redis(redis_server):
    publisher = RedisPublisher(redis_server.url, "openjam:test:announce")
    redis_server.stop()
    for n in range(3):
        publisher([Update(n, "jam", "idea", f"i{n}", None)])
    closing = threading.Thread(target=publisher.close)
    closing.start()
    closing.join(timeout=10)  # well under the two minutes it would hold them otherwise
    assert not closing.is_alive()


def test_a_web_worker_stopping_while_redis_is_down_does_not_wait_for_it(tmp_path, redis_server):
    # The channels plugin's shutdown waits for its queued messages, and runs before the
    # app's own: the backend must be told to stop holding them first.
    settings = Settings(data_dir=tmp_path / "var", redis_url=redis_server.url)
    app = JamApplication(settings)
    scene = open_jam(app, Now())
    client = TestClient(create_app(settings, jam=app))
    client.__enter__()
    try:
        redis_server.stop()
        posted = app.handle(
            c.PostIdea(
                actor=scene.join(),
                jam_id=scene.jam_id,
                idea_id=uuid4(),
                forum="health",
                title="Held",
                body="While Redis is down",
            )
        )
        assert client.app.state.services.runner.wait_for(posted.position, 30)
        time.sleep(3 * live.REDIS_RETRY_S)  # its update is held, waiting for Redis
    finally:
        started = time.monotonic()
        client.__exit__(None, None, None)
        stopped_in = time.monotonic() - started
        app.close()
    assert stopped_in < live.REDIS_HOLD_S / 4


def test_a_projection_worker_starting_while_redis_is_down_publishes_its_last_updates(
    tmp_path, redis_server
):
    # Nothing says what was published before: the last positions are sent, once Redis is back.
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    scene.post_idea(scene.join())
    runner = runner_for(app, SQLiteViews(tmp_path / "views.sqlite3"))
    runner.catch_up()
    publisher = RedisPublisher(redis_server.url, None, mark="openjam:test:published")
    try:
        redis_server.stop()
        assert publish_unpublished(runner.views, publisher) > 0
        redis_server.start()
        deadline = time.monotonic() + 20
        while _published(redis_server.url) < 1:
            assert time.monotonic() < deadline, "the last updates were never published"
            time.sleep(0.05)
    finally:
        publisher.close()
        runner.views.close()
        app.close()
