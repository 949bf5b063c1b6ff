"""Liveness and readiness: /ready answers 503 with why a worker should get no traffic."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.clock import ManualClock
from jam.invites import new_invite_code
from jam.settings import Settings
from tests.services import require_redis
from tests.ui.harness import free_port
from ui.app import create_app

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)  # events this old are far beyond any lag bound


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


def test_not_ready_while_the_read_models_are_further_behind_than_the_bound(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", ready_max_lag_s=60)
    with TestClient(create_app(settings)) as client:
        client.app.state.services.runner.stop()  # the projection falls behind from here
        with JamApplication(settings, clock=ManualClock(LONG_AGO)) as writer:
            issue_invite(writer)
            issue_invite(writer)
        response = client.get("/ready")
        health = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert "read models 2 events" in body["reason"]
    assert "the bound is 60 s" in body["reason"]
    assert body["lag"]["events"] == 2
    assert body["lag"]["seconds"] > 60
    assert health.status_code == 200  # still alive: nothing to restart


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
