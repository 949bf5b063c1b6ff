"""Liveness and readiness: /ready answers 503 with why a worker should get no traffic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.clock import ManualClock
from jam.invites import new_invite_code
from jam.settings import Settings
from tests.services import require_redis
from tests.ui.harness import free_port
from ui.app import create_app
from ui.health import LogSightings

# An import or the demo's seed writes events with their original times, this old.
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def issue_invite(app: JamApplication) -> int:
    return app.handle(c.IssueInvite(code=new_invite_code(), role="organizer")).position


def test_a_worker_whose_store_answers_and_whose_read_models_are_caught_up_is_ready(settings):
    with TestClient(create_app(settings)) as client:
        issue_invite(client.app.state.services.jam)
        position = client.app.state.services.jam.position()
        assert client.app.state.services.runner.wait_for(position)
        response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reason"]) == ("ready", None)
    assert (body["store"], body["projections"], body["redis"]) == (
        settings.store_name,
        "inline",
        "not configured",
    )
    assert body["lag"] == {"log_position": 1, "projected": 1, "events": 0, "seconds": 0.0}
    assert body["pid"] > 0


def test_not_ready_while_the_event_store_is_unreachable(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    jam = JamApplication(settings)
    with TestClient(create_app(settings, jam=jam)) as client:
        client.app.state.services.runner.stop()
        jam.close()
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("event store unavailable: ")
    assert response.json()["lag"] is None


def test_events_stamped_long_ago_do_not_make_read_models_just_behind_look_late(tmp_path):
    # During `jam import polis` the projection follows a page behind the importer, whose
    # events carry the conversation's times: their age is not how long they waited.
    settings = Settings(data_dir=tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        client.app.state.services.runner.stop()  # the page the projection has not applied
        with JamApplication(settings, clock=ManualClock(LONG_AGO)) as importer:
            issue_invite(importer)
            issue_invite(importer)
        response = client.get("/ready")
        scraped = client.get("/metrics").text
    assert response.status_code == 200, response.json()["reason"]
    assert response.json()["lag"] == {
        "log_position": 2,
        "projected": 0,
        "events": 2,
        "seconds": 0.0,
    }
    (lag,) = [line for line in scraped.splitlines() if line.startswith("openjam_projection_lag_s")]
    assert float(lag.split()[1]) < 5  # the time between the probe and the scrape


def test_not_ready_once_the_read_models_have_been_behind_longer_than_the_bound(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", ready_max_lag_s=60)
    clock = ManualClock(datetime(2026, 11, 22, 21, 0, tzinfo=UTC))  # the web worker's
    with (
        JamApplication(settings, clock=clock) as jam,
        TestClient(create_app(settings, jam=jam)) as client,
    ):
        client.app.state.services.runner.stop()  # the projection falls behind from here
        with JamApplication(settings, clock=ManualClock(LONG_AGO)) as importer:
            issue_invite(importer)
            issue_invite(importer)
        seen = client.get("/ready")  # the worker sees the events in the log from now
        clock.advance(timedelta(seconds=60))
        at_the_bound = client.get("/ready")
        clock.advance(timedelta(seconds=1))
        response = client.get("/ready")
        health = client.get("/health")
    assert (seen.status_code, at_the_bound.status_code) == (200, 200)
    assert at_the_bound.json()["lag"]["seconds"] == 60
    assert response.status_code == 503
    body = response.json()
    assert "read models 2 events (61 s) behind the log" in body["reason"]
    assert "the bound is 60 s" in body["reason"]
    assert (body["lag"]["events"], body["lag"]["seconds"]) == (2, 61)
    assert health.status_code == 200  # still alive: nothing to restart


def test_the_lag_counts_from_the_oldest_event_not_yet_projected_and_ends_with_it(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    clock = ManualClock(datetime(2026, 11, 22, 21, 0, tzinfo=UTC))
    with (
        JamApplication(settings, clock=clock) as jam,
        TestClient(create_app(settings, jam=jam)) as client,
    ):
        runner = client.app.state.services.runner
        runner.stop()
        issue_invite(jam)
        lags = [client.get("/ready").json()["lag"]]
        clock.advance(timedelta(seconds=20))
        issue_invite(jam)  # a second event behind the first: the first still waits
        lags.append(client.get("/ready").json()["lag"])
        clock.advance(timedelta(seconds=20))
        runner.catch_up()
        lags.append(client.get("/ready").json()["lag"])
        issue_invite(jam)  # behind again: counted from now, not from the first event
        lags.append(client.get("/ready").json()["lag"])
        clock.advance(timedelta(seconds=5))
        lags.append(client.get("/ready").json()["lag"])
    assert [(lag["events"], lag["seconds"]) for lag in lags] == [
        (1, 0),
        (2, 20),
        (0, 0),
        (1, 0),
        (1, 5),
    ]


def test_each_stretch_of_the_log_waits_from_when_it_was_first_seen():
    sightings = LogSightings()
    at = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
    later = [at + timedelta(seconds=s) for s in range(4)]
    assert sightings.behind_since(10, 10, at) is None  # caught up
    assert sightings.behind_since(12, 10, later[1]) == later[1]  # 11 and 12 seen now
    assert sightings.behind_since(15, 10, later[2]) == later[1]  # 13 to 15 seen later
    assert sightings.behind_since(15, 11, later[3]) == later[1]  # 12 still waits
    assert sightings.behind_since(15, 12, later[3]) == later[2]  # now 13 is the oldest
    assert sightings.behind_since(15, 15, later[3]) is None
    assert sightings.behind_since(16, 15, later[3]) == later[3]
    # A log that ends before what was seen of it is another log (restored from a copy).
    assert sightings.behind_since(3, 1, later[3] + timedelta(seconds=1)) == later[3] + timedelta(
        seconds=1
    )


def test_a_lag_within_the_bound_keeps_the_worker_ready(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        client.app.state.services.runner.stop()
        # The events' clock is ahead of the real one: their age is nothing yet.
        with JamApplication(settings, clock=ManualClock(datetime(2999, 1, 1, tzinfo=UTC))) as w:
            issue_invite(w)
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["lag"]["events"] == 1


def test_not_ready_while_the_configured_redis_is_unreachable(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("unreachable: ")
    assert "redis unreachable" in response.json()["reason"]


def test_the_real_redis_counts_as_reachable(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", redis_url=require_redis())
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["redis"] == "ok"


def test_with_external_projections_a_worker_is_not_ready_before_the_read_models_exist(tmp_path):
    settings = Settings(
        data_dir=tmp_path / "var", redis_url=require_redis(), projections="external"
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("read models unavailable: ")
    assert response.json()["projections"] == "external"


def test_probes_that_send_head_get_the_status_and_headers_without_the_body(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    jam = JamApplication(settings)
    with TestClient(create_app(settings, jam=jam)) as client:
        for path in ("/health", "/ready"):
            got, head = client.get(path), client.head(path)
            assert (head.status_code, head.content) == (got.status_code, b""), path
            assert head.headers["content-type"] == got.headers["content-type"], path
            assert head.headers["content-length"] == str(len(got.content)), path
        client.app.state.services.runner.stop()
        jam.close()
        assert client.head("/ready").status_code == 503  # not ready: HEAD says so too
        assert client.head("/health").status_code == 200
        paths = client.get("/schema/openapi.json").json()["paths"]
    # GET keeps its operation id; HEAD is described beside it.
    assert paths["/health"]["get"]["operationId"] == "HealthHealth"
    assert paths["/ready"]["head"]["operationId"] == "ReadyReadyHead"
