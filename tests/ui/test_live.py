"""Live streams from real web worker processes: SSE delivery, catch-up, read-your-writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from uuid import uuid4

import httpx
import pytest

from jam import commands as c
from jam.application import JamApplication
from jam.clock import system_clock
from jam.settings import Settings
from tests.services import drop_schema, fresh_schema, require_redis
from tests.stories import open_jam
from tests.ui.harness import SSEClient, member_token, web_worker
from ui.auth import issue_token

pytestmark = pytest.mark.slow


class Now:
    """A clock object for tests.stories that reads the real time (the servers do)."""

    @property
    def now(self):
        return system_clock()


def _idea(app: JamApplication, scene, author, title: str = "Live idea") -> c.Done:
    return app.handle(
        c.PostIdea(
            actor=author,
            jam_id=scene.jam_id,
            idea_id=uuid4(),
            forum="health",
            title=title,
            body="B",
        )
    )


def test_a_thread_stream_delivers_updates_and_resumes_from_last_event_id(tmp_path):
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    ada = scene.join()
    idea = _idea(app, scene, ada)
    with web_worker(tmp_path, {}) as base:
        token = member_token(tmp_path / "var", ada)
        stream = SSEClient(f"{base}/api/ideas/{idea.id}/stream", last_event_id=0, token=token)
        jam_wide = stream.next()  # its jam's own updates come too: the jam created
        assert (jam_wide.kind, jam_wide.data["item_id"]) == ("jam", str(scene.jam_id))
        first = stream.next()  # the idea itself, caught up from the read model
        assert (first.id, first.kind, first.data["item_id"]) == (
            idea.position,
            "idea",
            str(idea.id),
        )
        comment = app.handle(
            c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea.id, body="Live reply")
        )
        live = stream.next()
        assert (live.id, live.kind, live.data["item_id"]) == (
            comment.position,
            "comment",
            str(comment.id),
        )
        stream.close()

        # While disconnected, two more things happen to the thread.
        missed = [
            app.handle(c.CastVote(actor=ada, idea_id=idea.id, value=1)),
            app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea.id, body="Again")),
        ]
        again = SSEClient(f"{base}/api/ideas/{idea.id}/stream", last_event_id=live.id, token=token)
        assert [again.next().id, again.next().id] == [m.position for m in missed]
        again.close()
        # A new client that gives no position starts from now, not the whole feed.
        fresh = SSEClient(f"{base}/api/ideas/{idea.id}/stream", token=token)
        later = app.handle(
            c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea.id, body="Later")
        )
        got = fresh.next()
        assert (got.id, got.kind) == (later.position, "comment")
        fresh.close()
        # A client of another log (the store restored from an older copy) names a position
        # beyond this log's end: it gets what comes from now on, not silence until the log
        # passes its number.
        # The page's own URL, as a browser reconnects to it: its ?after= beyond the end too.
        beyond = later.position + 1000
        ahead = SSEClient(
            f"{base}/api/ideas/{idea.id}/stream?after={beyond}", last_event_id=beyond, token=token
        )
        reset = ahead.next()  # what it shows is of another log: reload it
        assert (reset.kind, reset.id) == ("reset", later.position)
        news = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea.id, body="N"))
        got = ahead.next()
        assert (got.id, got.kind) == (news.position, "comment")
        ahead.close()
        negative = httpx.get(
            f"{base}/api/ideas/{idea.id}/stream",
            headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "-5"},
            timeout=10,
        )
        assert negative.status_code == 422  # as ?after=-5 is; not the whole feed again
        # A jam or an idea the read models do not hold: 404 at once, not a stream that
        # never says anything.
        member = {"Authorization": f"Bearer {token}"}
        for path in (f"/api/jams/{uuid4()}/stream", f"/api/ideas/{uuid4()}/stream"):
            answer = httpx.get(
                base + path, params={"after": missed[-1].position}, headers=member, timeout=10
            )
            assert (answer.status_code, answer.json()["error"]) == (404, "not_found"), path
    app.close()


def test_a_client_further_behind_than_the_feed_keeps_is_told_to_reload(tmp_path):
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    ada = scene.join()
    idea = _idea(app, scene, ada)
    for _ in range(6):
        app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea.id, body="More"))
    end = app.position()
    with web_worker(tmp_path, {"OPENJAM_FEED_RETENTION": "3"}) as base:
        stream = SSEClient(
            f"{base}/api/ideas/{idea.id}/stream",
            last_event_id=idea.position,
            token=member_token(tmp_path / "var", ada),
        )
        reset = stream.next()
        assert (reset.kind, reset.id, reset.data["position"]) == ("reset", end, end)
        later = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea.id, body="Hi"))
        assert stream.next().id == later.position
        stream.close()
    app.close()


class _Opened:
    """A live stream held open by the client, as a browser tab holds one."""

    def __init__(self, url: str, token: str) -> None:
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        request = self._client.build_request(
            "GET", url, headers={"Authorization": f"Bearer {token}"}
        )
        self.response = self._client.send(request, stream=True)
        self.status = self.response.status_code

    def close(self) -> None:  # the tab closed: the connection goes
        self.response.close()
        self._client.close()


def test_one_person_holds_a_few_live_streams_at_once_and_each_is_freed_when_closed(tmp_path):
    # One token opening stream after stream (each from the feed's start) took a worker
    # from 0.9 GB to 1.9 GB, and enough plain ones made /health time out.
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    ada, bea = scene.join(), scene.join(name="Bea")
    idea = _idea(app, scene, ada)
    with web_worker(tmp_path, {"OPENJAM_STREAMS_PER_PARTICIPANT": "2"}) as base:
        ada_token = member_token(tmp_path / "var", ada)
        jam_stream = f"{base}/api/jams/{scene.jam_id}/stream?after=1"
        tabs = [
            _Opened(jam_stream, ada_token),
            _Opened(f"{base}/api/ideas/{idea.id}/stream", ada_token),
        ]
        assert [t.status for t in tabs] == [200, 200]  # a jam's and a thread's count alike
        third = _Opened(jam_stream, ada_token)
        assert third.status == 429
        third.response.read()
        refused = third.response.json()
        third.close()
        assert refused["error"] == "too_many_requests"
        assert "at most 2" in refused["detail"]
        assert int(third.response.headers["Retry-After"]) > 0
        other = _Opened(jam_stream, member_token(tmp_path / "var", bea))
        assert other.status == 200  # Bea's streams are her own
        other.close()
        tabs.pop(0).close()
        # The worker learns that the connection closed, and its slot is free again.
        deadline = time.monotonic() + 10
        while True:
            again = _Opened(jam_stream, ada_token)
            if again.status == 200 or time.monotonic() > deadline:
                break
            again.close()
            time.sleep(0.05)
        assert again.status == 200
        again.close()
        tabs[0].close()
    app.close()


def test_a_hidden_ideas_stream_is_for_its_author_and_the_organizers(tmp_path):
    # As its thread: other members heard the ids of what went on in it.
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    ada, bea = scene.join(), scene.join(name="Bea")
    idea = _idea(app, scene, ada)
    hidden = app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea.id, reason="spam"))
    var = tmp_path / "var"
    with web_worker(tmp_path, {}) as base:
        url = f"{base}/api/ideas/{idea.id}/stream?after={hidden.position}"
        refused = _Opened(url, member_token(var, bea))
        assert refused.status == 404
        refused.close()
        for reader in (ada, scene.organizer):
            opened = _Opened(url, member_token(var, reader))
            assert opened.status == 200
            opened.close()
    app.close()


def test_a_jam_stream_announces_a_topic_refresh_its_page_did_not_show(tmp_path):
    # A refresh is announced live only: one landing between a page's rendering and its
    # stream's start reached no stream, and the page waited for the next change.
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    ada = scene.join()
    for title in ("Solar roofs", "Wind power", "Bike sheds"):
        _idea(app, scene, ada, title=title)
    var = tmp_path / "var"
    with web_worker(tmp_path, {"OPENJAM_READ_WAIT_MS": "30000"}) as base:
        organizer = {"Authorization": f"Bearer {member_token(var, scene.organizer)}"}
        shortlist = httpx.get(
            f"{base}/api/jams/{scene.jam_id}/shortlist",
            params={"after": app.position()},
            headers=organizer,
            timeout=35,
        ).json()
        ranked, at = shortlist["position"], app.position()
        assert shortlist["ready"]
        assert ranked > 0
        url = f"{base}/api/jams/{scene.jam_id}/stream?after={at}&topics="
        behind = SSEClient(url + "0", token=member_token(var, ada))
        notice = behind.next(topics=True)
        assert (notice.kind, notice.id, notice.data["position"]) == ("topics", at, ranked)
        shown = SSEClient(url + str(ranked), token=member_token(var, ada))
        posted = _idea(app, scene, ada, title="Rain gardens")
        first = shown.next(topics=True)  # the new idea, not a notice of what the page shows
        assert (first.kind, first.id) == ("idea", posted.position)
        behind.close()
        shown.close()
    app.close()


def test_reads_wait_for_a_position_so_writers_see_their_writes(tmp_path):
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    ada = scene.join()
    with web_worker(tmp_path, {"OPENJAM_READ_WAIT_MS": "300"}) as base:
        member = {"Authorization": f"Bearer {member_token(tmp_path / 'var', ada)}"}
        done = _idea(app, scene, ada, title="Seen at once")
        thread = httpx.get(
            f"{base}/api/ideas/{done.id}", params={"after": done.position}, headers=member
        )
        assert thread.status_code == 200
        assert thread.json()["idea"]["title"] == "Seen at once"
        listed = httpx.get(
            f"{base}/api/jams/{scene.jam_id}/ideas", params={"after": done.position}, headers=member
        )
        assert [i["title"] for i in listed.json()] == ["Seen at once"]
        ahead = httpx.get(
            f"{base}/api/ideas/{done.id}", params={"after": done.position + 100}, headers=member
        )
        assert ahead.status_code == 422  # not written: nothing to wait for
        assert "has not been written" in ahead.json()["detail"]
    app.close()


def test_an_update_reaches_clients_of_every_web_worker_through_redis(tmp_path):
    redis_url = require_redis()
    url, schema = fresh_schema()
    env = {
        "OPENJAM_DATABASE_URL": url,
        "OPENJAM_DATABASE_SCHEMA": schema,
        "OPENJAM_REDIS_URL": redis_url,
        "OPENJAM_SECRET_KEY": "k" * 32,
    }
    app = JamApplication(Settings(database_url=url, database_schema=schema))
    try:
        scene = open_jam(app, Now())
        ada = scene.join()
        with web_worker(tmp_path, env) as one, web_worker(tmp_path, env) as two:
            seen = app.position()  # both workers caught up before they answered /health
            token = issue_token(b"k" * 32, ada)
            streams = [
                SSEClient(f"{base}/api/jams/{scene.jam_id}/stream", last_event_id=seen, token=token)
                for base in (one, two)
            ]
            done = _idea(app, scene, ada)
            for stream in streams:
                event = stream.next()
                assert (event.id, event.kind, event.data["item_id"]) == (
                    done.position,
                    "idea",
                    str(done.id),
                )
                stream.close()
            # A thread hears its jam's jam-wide changes from any worker: here, the other one.
            thread = SSEClient(
                f"{two}/api/ideas/{done.id}/stream", last_event_id=app.position(), token=token
            )
            alert = app.handle(
                c.SendAlert(actor=scene.organizer, jam_id=scene.jam_id, message="Hi")
            )
            event = thread.next()
            assert (event.id, event.kind) == (alert.position, "alert")
            thread.close()
    finally:
        app.close()
        drop_schema(url, schema)


def test_a_thread_hears_what_its_whole_jam_hears_its_schedule_alert_and_blocks(tmp_path):
    # Its page shows the jam's alert and whether the jam is open and its reader may write.
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    ada, bea = scene.join(), scene.join(name="Bea")
    idea = _idea(app, scene, ada)
    other = _idea(app, scene, ada, title="Other")
    with web_worker(tmp_path, {}) as base:
        token = member_token(tmp_path / "var", bea)
        stream = SSEClient(
            f"{base}/api/ideas/{idea.id}/stream", last_event_id=app.position(), token=token
        )
        app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=other.id, body="Not ours"))
        said = [
            app.handle(c.SendAlert(actor=scene.organizer, jam_id=scene.jam_id, message="Hi")),
            app.handle(c.BlockParticipant(actor=scene.organizer, participant_id=bea, reason="x")),
            app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id, reason="done")),
        ]
        heard = [stream.next() for _ in said]
        assert [(e.id, e.kind) for e in heard] == [
            (said[0].position, "alert"),
            (said[1].position, "blocked"),
            (said[2].position, "jam"),
        ]  # and not the other thread's comment
        # Whom organizers block is for organizers: the update names the jam, not Bea.
        assert heard[1].data["item_id"] == str(scene.jam_id)
        stream.close()
        # A client reconnecting catches up on them from the feed as well.
        again = SSEClient(
            f"{base}/api/ideas/{idea.id}/stream", last_event_id=said[0].position - 1, token=token
        )
        assert [again.next().kind for _ in said] == ["alert", "blocked", "jam"]
        again.close()
    app.close()


def test_several_workers_in_one_server_share_live_updates_through_redis(tmp_path):
    redis_url = require_redis()
    app = JamApplication(Settings(data_dir=tmp_path / "var"))
    scene = open_jam(app, Now())
    ada = scene.join()
    env = {"OPENJAM_REDIS_URL": redis_url}
    with web_worker(tmp_path, env, "--workers", "2") as base:
        seen = app.position()
        token = member_token(tmp_path / "var", ada)
        streams = [
            SSEClient(f"{base}/api/jams/{scene.jam_id}/stream", last_event_id=seen, token=token)
            for _ in range(4)  # the kernel spreads connections over both workers
        ]
        done = _idea(app, scene, ada)
        for stream in streams:
            assert stream.next().id == done.position
            stream.close()
    app.close()


def test_several_workers_without_redis_are_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "jam.cli", "serve", "--workers", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")},
    )
    assert result.returncode == 2
    assert "need OPENJAM_REDIS_URL" in result.stderr
