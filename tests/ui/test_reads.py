"""The read endpoints: lists, threads and Jam Central, now and as of the past."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from tests.ui.harness import read_as
from ui.app import create_app
from ui.auth import issue_token


def _signed_in(client, participant) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(client.app.state.secret, participant)}"}


@pytest.fixture
def served(tmp_path, clock):
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_wait_ms=200), clock=clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        yield client, app
    app.close()


def test_lists_threads_and_stats_show_what_was_written(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    read_as(client, ada)  # a jam's ideas are for its members
    first = scene.post_idea(ada, title="First")
    done = app.handle(c.CastVote(actor=ada, idea_id=first, value=1))
    clock.advance(timedelta(minutes=1))
    second = scene.post_idea(ada, title="Second")
    position = app.position()

    listed = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"after": position})
    assert [i["title"] for i in listed.json()] == ["Second", "First"]
    top = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"sort": "top", "after": position})
    assert [i["title"] for i in top.json()] == ["First", "Second"]
    thread = client.get(f"/api/ideas/{first}", params={"after": position}).json()
    assert (thread["idea"]["up"], thread["segments"][0]["segment"]) == (1, "employee")
    as_organizer = _signed_in(client, scene.organizer)
    stats = client.get(
        f"/api/jams/{scene.jam_id}/stats", params={"after": position}, headers=as_organizer
    ).json()
    assert stats["position"] >= position
    assert sum(s["ideas"] for s in stats["segments"]) == 2

    past = client.get(
        f"/api/jams/{scene.jam_id}/stats",
        params={"as_of_position": done.position},
        headers=as_organizer,
    )
    assert sum(s["ideas"] for s in past.json()["segments"]) == 1
    then = client.get(
        f"/api/ideas/{second}", params={"as_of_position": done.position}, headers=as_organizer
    )
    assert then.status_code == 404  # not posted yet at that position


def test_a_look_back_by_position_counts_activity_back_from_that_position_s_time(served, clock):
    # "Active in the last 5 minutes" as of a position: the minutes before that position was
    # written, not before the clock of the read (two hours later, nothing would be recent).
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    idea = scene.post_idea(ada, title="Then")
    done = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    clock.advance(timedelta(hours=2))
    as_organizer = _signed_in(client, scene.organizer)
    url = f"/api/jams/{scene.jam_id}/stats"
    past = client.get(url, params={"as_of_position": done.position}, headers=as_organizer).json()
    timed = client.get(
        url, params={"as_of": (clock.now - timedelta(hours=2)).isoformat()}, headers=as_organizer
    ).json()
    for central in (past, timed):
        assert central["active_last_5_minutes"] == 1
        assert central["votes_per_minute"] > 0
    assert past["position"] == done.position
    # A thread as it was says which position it stands for, as Jam Central does.
    thread = client.get(
        f"/api/ideas/{idea}", params={"as_of_position": done.position}, headers=as_organizer
    )
    assert thread.json()["position"] == done.position
    at = (clock.now - timedelta(hours=2)).isoformat()
    then = client.get(f"/api/ideas/{idea}", params={"as_of": at}, headers=as_organizer).json()
    assert then["position"] == timed["position"] >= done.position
    assert client.get(f"/api/ideas/{idea}", headers=as_organizer).json()["position"] is None


def test_a_thread_as_it_was_is_for_organizers_and_leaders_only(served, clock):
    # A thread as it was may show an idea hidden since: never to participants or strangers.
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    idea = scene.post_idea(ada, title="Hidden later")
    kept = scene.post_idea(ada, title="Still shown")
    before = app.position()
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="off topic"))
    url = f"/api/ideas/{idea}"
    params = {"as_of_position": before, "after": app.position()}
    assert client.get(url, params=params).status_code == 401  # not signed in
    assert client.get(url, params=params, headers=_signed_in(client, ada)).status_code == 403
    shown = client.get(url, params=params, headers=_signed_in(client, scene.organizer))
    assert shown.json()["idea"]["title"] == "Hidden later"
    # A leader reads what is visible as it was, not what an organizer has hidden since.
    leader = _signed_in(client, scene.join(role="leader"))
    assert client.get(url, params=params, headers=leader).status_code == 404
    assert client.get(f"/api/ideas/{kept}", params=params, headers=leader).status_code == 200


def test_a_read_may_wait_only_for_a_position_the_log_holds(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    read_as(client, scene.organizer)  # a jam's ideas are for its members
    url = f"/api/jams/{scene.jam_id}/ideas"
    ahead = client.get(url, params={"after": app.position() + 1_000_000})
    assert ahead.status_code == 422  # at once: no thread held waiting for it
    assert "has not been written" in ahead.json()["detail"]
    assert client.get(url, params={"after": 2**70}).status_code in (400, 422)
    assert client.get(url, params={"after": app.position()}).status_code == 200
    page = client.get(f"/jams/{scene.jam_id}", params={"after": app.position() + 10})
    assert page.status_code in (400, 422)


def test_bad_reads_get_clear_errors(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    read_as(client, scene.organizer)  # a jam's ideas are for its members
    unknown = client.get(f"/api/ideas/{uuid4()}")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    bad_sort = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"sort": "loudest"})
    assert bad_sort.status_code == 422
    assert bad_sort.json()["error"] == "invalid"
    naive = client.get(
        f"/api/jams/{scene.jam_id}/stats",
        params={"as_of": "2030-05-01T12:00:00"},
        headers=_signed_in(client, scene.organizer),
    )
    assert naive.status_code == 422
    assert "timezone" in naive.json()["detail"]
    ancient = client.get(
        f"/api/jams/{scene.jam_id}/stats",
        params={"as_of": "0001-01-01T00:00:00Z"},
        headers=_signed_in(client, scene.organizer),
    )
    assert ancient.status_code == 422
    assert "as_of must be after 1970-01-01" in ancient.json()["detail"]
    # The same on every read that looks back (the shortlist answered "not ready").
    organizer = _signed_in(client, scene.organizer)
    for path in ("shortlist", "shortlist?format=csv", "topics"):
        path, _, query = path.partition("?")
        answer = client.get(
            f"/api/jams/{scene.jam_id}/{path}",
            params={"as_of": "0001-01-01T00:00:00Z", **dict([query.split("=")] if query else [])},
            headers=organizer,
        )
        assert answer.status_code == 422, path
        assert "as_of must be after 1970-01-01" in answer.json()["detail"], path
    client.app.state.services.runner.stop()  # the read models stay behind the log
    written = app.handle(c.IssueInvite(code=uuid4().hex, role="participant", jam_id=scene.jam_id))
    behind = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"after": written.position})
    assert behind.status_code == 503
    assert behind.headers["retry-after"] == "1"


def test_organizers_see_hidden_ideas_with_their_state_and_participants_do_not(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    read_as(client, ada)  # a jam's ideas are for its members
    idea = scene.post_idea(ada, title="Spam")
    comment = app.handle(c.PostComment(actor=ada, comment_id=uuid4(), idea_id=idea, body="rude"))
    app.handle(c.HideComment(actor=scene.organizer, comment_id=comment.id, reason="rude"))
    hidden = app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="advertising"))
    params = {"after": hidden.position}
    # Another participant: the author reads their own hidden idea (tests/ui/test_api.py).
    organizer, participant = _signed_in(client, scene.organizer), _signed_in(client, scene.join())
    listed = client.get(f"/api/jams/{scene.jam_id}/ideas", params=params, headers=organizer).json()
    assert [(i["title"], i["hidden"]) for i in listed] == [("Spam", True)]
    assert (
        client.get(f"/api/jams/{scene.jam_id}/ideas", params=params, headers=participant).json()
        == []
    )
    thread = client.get(f"/api/ideas/{idea}", params=params, headers=organizer).json()
    assert (thread["hidden_reason"], thread["comments"][0]["body"]) == ("advertising", "rude")
    assert client.get(f"/api/ideas/{idea}", params=params, headers=participant).status_code == 404
    # The cookie's reader, Ada, wrote it: hers to read, with why it was hidden.
    own = client.get(f"/api/ideas/{idea}", params=params).json()
    assert (own["idea"]["hidden"], own["hidden_reason"]) == (True, "advertising")


def test_jam_central_and_the_moderation_queue_are_for_their_roles(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada, lee = scene.join(), scene.join(role="leader")
    idea = scene.post_idea(ada)
    flagged = app.handle(c.FlagIdea(actor=scene.join(), idea_id=idea, reason="duplicate"))
    stats, queue = f"/api/jams/{scene.jam_id}/stats", f"/api/jams/{scene.jam_id}/moderation"
    assert client.get(stats).status_code == 401
    assert client.get(stats, headers=_signed_in(client, ada)).status_code == 403
    assert client.get(stats, headers=_signed_in(client, lee)).status_code == 200
    assert client.get(queue, headers=_signed_in(client, lee)).status_code == 403
    answer = client.get(
        queue, params={"after": flagged.position}, headers=_signed_in(client, scene.organizer)
    )
    assert answer.json()["flagged"][0]["reasons"] == ["duplicate"]


def test_participants_read_their_own_activity(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    idea = scene.post_idea(ada, title="Mine")
    voted = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    me = client.get(
        "/api/me/activity", params={"after": voted.position}, headers=_signed_in(client, ada)
    ).json()
    assert ([i["title"] for i in me["ideas"]], me["votes"]) == (["Mine"], {str(idea): 1})
    assert client.get("/api/me/activity").status_code == 401


def _hold_projection(client, monkeypatch) -> threading.Event:
    """Hold the web process's projection until the returned event is set."""
    runner = client.app.state.services.runner
    release, apply = threading.Event(), runner._apply

    def held(page):
        release.wait(10)
        apply(page)

    monkeypatch.setattr(runner, "_apply", held)
    return release


def test_a_participant_who_just_joined_reads_their_activity_not_a_404(served, clock, monkeypatch):
    # A token exists only once the join is durable: a miss means the read models are behind.
    client, app = served
    scene = open_jam(app, clock)
    read_as(client, scene.organizer)  # a jam's ideas are for its members
    assert client.get(f"/api/jams/{scene.jam_id}", params={"after": app.position()}).is_success
    release = _hold_projection(client, monkeypatch)
    runner, wait_for = client.app.state.services.runner, client.app.state.services.runner.wait_for

    def waited(position, timeout=5.0):
        release.set()  # the reader now waits: let the projection go on
        return wait_for(position, timeout)

    monkeypatch.setattr(runner, "wait_for", waited)
    ada = scene.join()
    me = client.get("/api/me/activity", headers=_signed_in(client, ada))
    assert me.status_code == 200, me.text
    assert (me.json()["ideas"], me.json()["votes"]) == ([], {})


def test_activity_the_read_models_do_not_reach_in_time_is_a_503_not_a_404(
    served, clock, monkeypatch
):
    client, app = served
    scene = open_jam(app, clock)
    read_as(client, scene.organizer)  # a jam's ideas are for its members
    assert client.get(f"/api/jams/{scene.jam_id}", params={"after": app.position()}).is_success
    release = _hold_projection(client, monkeypatch)
    try:
        ada = scene.join()
        me = client.get("/api/me/activity", headers=_signed_in(client, ada))
        assert me.status_code == 503
        assert "retry" in me.json()["detail"]
    finally:
        release.set()


def test_a_keep_alive_is_a_comment_with_no_data_field():
    from ui.live import KEEP_ALIVE

    # An empty data field would reach clients as an event whose data is not JSON.
    assert KEEP_ALIVE.encode() == b": keep-alive\r\n\r\n"


def test_a_topic_refresh_never_moves_a_streams_resume_point_past_unsent_updates():
    from projections.models import LiveUpdate
    from ui.live import resume_point

    idea = LiveUpdate(12, "jam", "idea", "i1", "i1")
    refresh = LiveUpdate(40, "jam", "topics", "jam", None)  # the views had reached 40
    assert resume_point(10, [refresh]) == 10
    assert resume_point(10, [idea, refresh]) == 12
    assert resume_point(15, [idea]) == 15


def test_list_parameters_are_bounded(served, clock):
    # Unbounded, a forum made the cache key as long as the query string, and a huge offset
    # or cursor reached the database as an integer it cannot hold (a 500).
    client, app = served
    scene = open_jam(app, clock)
    read_as(client, scene.organizer)  # a jam's ideas are for its members
    url = f"/api/jams/{scene.jam_id}/ideas"
    assert client.get(url, params={"forum": "x" * 41}).status_code in (400, 422)
    assert client.get(url, params={"forum": "Not A Slug"}).status_code in (400, 422)
    assert client.get(url, params={"forum": "health"}).status_code == 200
    # Known to be no forum of the jam once the read models hold the jam: waited for.
    held = {"after": app.position()}
    mistyped = client.get(url, params={"forum": "helth", **held})
    assert mistyped.status_code == 404
    assert "no forum “helth”" in mistyped.json()["detail"]
    page = client.get(f"/jams/{scene.jam_id}", params={"forum": "helth", **held})
    assert page.status_code == 404
    assert client.get(url, params={"offset": 10**23}).status_code in (400, 422)
    huge = base64.urlsafe_b64encode(f"o:{10**23}".encode()).decode().rstrip("=")
    assert client.get(url, params={"cursor": huge}).status_code in (400, 422)
    page = client.get(f"/jams/{scene.jam_id}", params={"forum": "y" * 5000})
    assert page.status_code in (400, 422)


def test_a_stream_refuses_a_bad_position_before_reading_anything(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    idea = scene.post_idea(scene.join(), title="Mine")
    too_far = client.get(f"/api/ideas/{idea}/stream", params={"after": 10**30})
    assert too_far.status_code == 422


def test_odd_times_and_positions_get_a_clear_error_not_a_500(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    organizer = _signed_in(client, scene.organizer)
    far = "9999-12-31T23:59:59-23:59"  # after the last time UTC can hold
    for path in ("stats", "topics", "shortlist"):
        answer = client.get(
            f"/api/jams/{scene.jam_id}/{path}", params={"as_of": far}, headers=organizer
        )
        assert answer.status_code == 422, (path, answer.text)
        assert "out of range" in answer.json()["detail"]
    stream = client.get(f"/api/jams/{scene.jam_id}/stream", headers={"Last-Event-ID": str(10**30)})
    assert stream.status_code in (400, 422)
    idea = client.get(f"/api/ideas/{uuid4()}", params={"as_of_position": 10**30})
    assert idea.status_code in (400, 422)


def test_a_look_back_names_one_past_a_position_or_a_time_not_both(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    idea = scene.post_idea(scene.join(), title="Then")
    organizer = _signed_in(client, scene.organizer)
    both = {"as_of_position": app.position(), "as_of": clock.now.isoformat()}
    for url in (f"/api/jams/{scene.jam_id}/stats", f"/api/ideas/{idea}"):
        answer = client.get(url, params=both, headers=organizer)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["detail"] == "give as_of_position or as_of, not both"
        for one in ({"as_of_position": app.position()}, {"as_of": clock.now.isoformat()}):
            assert client.get(url, params=one, headers=organizer).status_code == 200


def test_a_look_back_to_a_position_not_written_is_refused_as_a_wait_for_one_is(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    idea = scene.post_idea(scene.join(), title="Then")
    organizer = _signed_in(client, scene.organizer)
    end = app.position()
    for url in (f"/api/jams/{scene.jam_id}/stats", f"/api/ideas/{idea}"):
        ahead = client.get(url, params={"as_of_position": end + 1}, headers=organizer)
        assert ahead.status_code == 422, (url, ahead.text)
        assert ahead.json()["detail"] == (
            f"log position {end + 1} has not been written (the log ends at {end})"
        )
        waited = client.get(url, params={"after": end + 1}, headers=organizer)
        assert waited.json()["detail"] == ahead.json()["detail"]
        at_the_end = client.get(url, params={"as_of_position": end}, headers=organizer)
        assert at_the_end.status_code == 200


def test_a_look_back_to_a_time_stands_at_the_position_the_log_had_reached_then(served, clock):
    # Some events carry an earlier time than events written before them (a seeded demo, an
    # import with its original times). A look back keeps them, but its position is how far
    # the log had been written by that time, not the position of the last event kept.
    client, app = served
    scene = open_jam(app, clock)
    ada = scene.join()
    first = scene.post_idea(ada, title="First")
    then, by_then = clock.now, app.position()
    clock.advance(timedelta(hours=1))
    scene.post_idea(ada, title="An hour later")
    scene.post_idea(ada, title="Stamped back then", body="Seeded with its time.", at=then)
    app.handle(c.CastVote(actor=ada, idea_id=first, value=1, at=then))
    assert app.position() > by_then + 1
    organizer = _signed_in(client, scene.organizer)
    url = f"/api/jams/{scene.jam_id}/stats"
    past = client.get(url, params={"as_of": then.isoformat()}, headers=organizer).json()
    assert sum(s["ideas"] for s in past["segments"]) == 2  # the backdated one included
    assert sum(s["votes"] for s in past["segments"]) == 1
    assert past["position"] == by_then  # not the position of the vote, written last
    by_position = client.get(url, params={"as_of_position": by_then}, headers=organizer).json()
    assert by_position["position"] == by_then
    assert sum(s["ideas"] for s in by_position["segments"]) == 1
    shortlist = client.get(
        f"/api/jams/{scene.jam_id}/shortlist", params={"as_of": then.isoformat()}, headers=organizer
    ).json()
    assert shortlist["ready"]
    assert shortlist["position"] == by_then
