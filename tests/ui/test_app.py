"""The web app: up, saying whether its event store answers, and self-describing."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from litestar.testing import TestClient

from jam import commands as c
from jam.application import JamApplication
from jam.invites import new_invite_code
from jam.settings import Settings
from tests.services import drop_schema, fresh_schema
from ui import server
from ui.app import create_app


@pytest.fixture
def sqlite(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture
def client(sqlite: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite)) as test_client:  # the lifespan opens the store
        yield test_client


def issue_invite(settings: Settings) -> int:
    """Another process on the same store records something; return its position."""
    with JamApplication(settings) as other:
        return other.handle(c.IssueInvite(code=new_invite_code(), role="organizer")).position


def test_health_reports_ok_the_store_and_the_log_position(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "sqlite", "position": 0}


def test_the_health_position_follows_the_log(client, sqlite):
    first = issue_invite(sqlite)
    assert client.get("/health").json()["position"] == first == 1
    second = issue_invite(sqlite)
    assert client.get("/health").json()["position"] == second == 2


def test_health_on_postgresql_names_that_store():
    url, schema = fresh_schema()
    try:
        settings = Settings(database_url=url, database_schema=schema)
        with TestClient(create_app(settings)) as client:
            assert client.get("/health").json() == {
                "status": "ok",
                "store": "postgresql",
                "position": 0,
            }
            position = issue_invite(settings)
            assert client.get("/health").json()["position"] == position == 1
    finally:
        drop_schema(url, schema)


def test_health_stays_live_but_says_when_the_store_is_unavailable(sqlite):
    """Liveness: a probe must not restart every worker because the database blinked."""
    jam = JamApplication(sqlite)
    with TestClient(create_app(sqlite, jam=jam)) as client:
        assert client.get("/health").status_code == 200
        # The projection stops first: its reads must not race the connections closing.
        client.app.state.services.runner.stop()
        jam.close()  # the store's connections are gone
        response = client.get("/health")
        ready = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"].startswith("unavailable: ")
    assert (body["store"], body["position"]) == ("sqlite", -1)
    assert ready.status_code == 503  # readiness takes the worker out of rotation


def test_an_application_passed_in_is_left_open_for_its_owner(sqlite):
    with JamApplication(sqlite) as jam:
        with TestClient(create_app(sqlite, jam=jam)) as client:
            assert client.get("/health").status_code == 200
        assert jam.handle(c.IssueInvite(code=new_invite_code(), role="organizer")).position == 1


def test_the_home_page_is_html_naming_the_service_and_its_store(client, sqlite):
    issue_invite(sqlite)
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "OpenJam" in response.text
    # The service's state is for organizers: a visitor is not shown the store's insides.
    assert "<code>sqlite</code>" not in response.text
    assert "log position" not in response.text
    with JamApplication(sqlite) as other:
        other.handle(c.IssueInvite(code="ORG", role="organizer"))
    joined = client.post("/api/session", json={"invite_code": "ORG", "display_name": "Olga"})
    assert joined.status_code == 201
    shown = client.get("/", params={"after": 2}).text
    assert "<code>sqlite</code>" in shown
    assert re.search(r"log position <code>\d+</code>", shown)


def test_the_home_page_answers_503_when_the_store_is_unavailable(sqlite):
    jam = JamApplication(sqlite)
    with TestClient(create_app(sqlite, jam=jam)) as client:
        client.app.state.services.runner.stop()
        jam.close()
        response = client.get("/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"


def test_the_openapi_schema_describes_health_but_not_the_home_page(client):
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "OpenJam"
    assert "/health" in schema["paths"]
    assert "/" not in schema["paths"]
    # /schema is the description itself: the HTML viewers load scripts from a CDN, which
    # the Content-Security-Policy blocks, so they would be blank pages.
    assert client.get("/schema").json() == schema
    assert client.get("/schema/openapi.yaml").text.startswith(("openapi:", "info:", "components:"))
    assert client.get("/schema/redoc").status_code == 404


def test_serving_lets_threads_take_turns_often(tmp_path, monkeypatch):
    """The committer and the projection get the interpreter back soon after their I/O."""
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    monkeypatch.setattr(server, "configure_logging", lambda settings, **how: None)
    before = sys.getswitchinterval()
    try:
        server.serve(Settings(data_dir=tmp_path / "var"))
        assert sys.getswitchinterval() == server.SWITCH_INTERVAL_S < before
    finally:
        sys.setswitchinterval(before)


def test_the_openapi_schema_gives_each_write_the_status_it_answers_with(client):
    paths = client.get("/schema/openapi.json").json()["paths"]
    answered_200 = (
        "/api/ideas/{idea_id}/moderation",
        "/api/ideas/{idea_id}/decision",
        "/api/comments/{comment_id}/moderation",
    )
    for path in answered_200:  # they change what exists: 200, as they answer, not 201
        assert set(paths[path]["post"]["responses"]) & {"200", "201"} == {"200"}, path
    created = paths["/api/jams/{jam_id}/ideas"]["post"]["responses"]
    assert "201" in created


def test_the_openapi_schema_says_how_requests_are_signed(client):
    schema = client.get("/schema/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert (schemes["session"]["type"], schemes["session"]["scheme"]) == ("http", "bearer")
    assert (schemes["cookie"]["in"], schemes["cookie"]["name"]) == ("cookie", "openjam_session")
    assert {"session": []} in schema["security"]
    for path, method in (("/health", "get"), ("/api/session", "post")):
        assert schema["paths"][path][method]["security"] == [{}], path  # for anyone
