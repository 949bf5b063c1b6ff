"""What a refused input is told: a message a person can act on, and never the input echoed."""

from __future__ import annotations

from uuid import uuid4

import pytest
from litestar.testing import TestClient

from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import issue_token


@pytest.fixture
def served(tmp_path, clock):
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_wait_ms=200), clock=clock)
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        token = issue_token(client.app.state.secret, scene.join())
        yield client, scene, {"Authorization": f"Bearer {token}"}
    app.close()


def test_a_write_sent_without_a_body_is_told_it_needs_one(served):
    client, scene, ada = served
    json = {**ada, "Content-Type": "application/json"}
    for method, url in (
        ("POST", f"/api/jams/{scene.jam_id}/ideas"),
        ("PUT", f"/api/ideas/{uuid4()}/vote"),
        ("POST", "/api/session"),
    ):
        empty = client.request(method, url, headers=json)
        assert empty.status_code == 422, (url, empty.text)
        answer = empty.json()
        assert answer["error"] == "invalid"
        assert answer["detail"] == "the request needs a JSON body"
        # `fields` still says which input: `data`, the whole body.
        assert answer["fields"] == [
            {"message": "the request needs a JSON body", "key": "data", "source": "body"}
        ]
    # A body that is there but wrong still says what is wrong with it.
    wrong = client.post(f"/api/jams/{scene.jam_id}/ideas", json={"forum": "health"}, headers=ada)
    assert wrong.status_code == 422
    assert "title" in wrong.json()["fields"][0]["message"]


def test_a_refused_input_is_not_repeated_back_in_the_detail(served):
    client, scene, ada = served
    typed = "x" * 1_900  # a long text being typed, with a limit that is no number
    similar = client.get(
        f"/api/jams/{scene.jam_id}/similar", params={"text": typed, "limit": "many"}, headers=ada
    )
    assert similar.status_code == 422
    answer = similar.json()
    assert answer["detail"] == "Validation failed for GET /api/jams/{jam_id}/similar"
    assert typed not in similar.text
    assert answer["fields"] == [
        {"message": "Expected `int`, got `str`", "key": "limit", "source": "query"}
    ]
    too_long = client.get(
        f"/api/jams/{scene.jam_id}/similar", params={"text": "y" * 5_000}, headers=ada
    )
    assert too_long.status_code == 422
    assert len(too_long.text) < 300
    assert too_long.json()["fields"][0]["key"] == "text"
    body = client.post(
        f"/api/jams/{scene.jam_id}/ideas",
        json={"forum": "health", "title": ["not", "a", "text"], "body": "b"},
        headers=ada,
    )
    assert body.status_code == 422
    assert body.json()["detail"] == "Validation failed for POST /api/jams/{jam_id}/ideas"
    assert body.json()["fields"][0]["source"] == "body"
