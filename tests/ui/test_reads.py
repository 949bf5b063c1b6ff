"""The read endpoints: lists, threads and Jam Central, now and as of the past."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app


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
    stats = client.get(f"/api/jams/{scene.jam_id}/stats", params={"after": position}).json()
    assert stats["position"] >= position
    assert sum(s["ideas"] for s in stats["segments"]) == 2

    past = client.get(f"/api/jams/{scene.jam_id}/stats", params={"as_of_position": done.position})
    assert sum(s["ideas"] for s in past.json()["segments"]) == 1
    then = client.get(f"/api/ideas/{second}", params={"as_of_position": done.position})
    assert then.status_code == 404  # not posted yet at that position


def test_bad_reads_get_clear_errors(served, clock):
    client, app = served
    scene = open_jam(app, clock)
    unknown = client.get(f"/api/ideas/{uuid4()}")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    bad_sort = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"sort": "loudest"})
    assert bad_sort.status_code == 422
    assert bad_sort.json()["error"] == "invalid"
    naive = client.get(f"/api/jams/{scene.jam_id}/stats", params={"as_of": "2030-05-01T12:00:00"})
    assert naive.status_code == 422
    assert "timezone" in naive.json()["detail"]
    ahead = client.get(f"/api/jams/{scene.jam_id}/ideas", params={"after": app.position() + 5})
    assert ahead.status_code == 503
    assert ahead.headers["retry-after"] == "1"
