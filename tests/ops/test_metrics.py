"""Prometheus metrics at /metrics: requests per route, batch sizes, projection lag, SSE clients."""

from __future__ import annotations

from uuid import uuid4

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections.metrics import observe_cluster_refresh
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import issue_token

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-type"].count("charset") == 1  # twice: scrapes refused
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path / "var"))) as test_client:
        yield test_client


def test_requests_are_counted_and_timed_per_route_and_status(client):
    before = scrape(client)
    # A route with a parameter: counted under its template (a 401 here: no one signed in).
    client.get(f"/api/ideas/{uuid4()}")
    client.get("/health")
    after = scrape(client)
    route = "/api/ideas/{idea_id}"
    counted = "openjam_http_requests_total"
    assert value(after, counted, method="GET", route=route, status="401") == (
        value(before, counted, method="GET", route=route, status="401") + 1
    )
    assert value(after, counted, method="GET", route="/health", status="200") == (
        value(before, counted, method="GET", route="/health", status="200") + 1
    )
    timed = "openjam_http_request_duration_seconds_count"
    assert value(after, timed, method="GET", route=route) > value(
        before, timed, method="GET", route=route
    )


def test_group_commit_batch_sizes_are_recorded(client):
    jam: JamApplication = client.app.state.services.jam
    before = scrape(client)
    jam.handle(c.IssueInvite(code=uuid4().hex, role="organizer"))
    after = scrape(client)
    name = "openjam_commit_batch_commands_count"
    assert value(after, name) == value(before, name) + 1
    assert value(after, "openjam_commit_batch_commands_bucket", le="1.0") > value(
        before, "openjam_commit_batch_commands_bucket", le="1.0"
    )


def test_projection_lag_is_read_from_the_store_when_scraped(client):
    services = client.app.state.services
    done = services.jam.handle(c.IssueInvite(code=uuid4().hex, role="organizer"))
    assert services.runner.wait_for(done.position)
    caught_up = scrape(client)
    services.runner.stop()
    services.jam.handle(c.IssueInvite(code=uuid4().hex, role="organizer"))
    behind = scrape(client)
    assert value(caught_up, "openjam_projection_lag_events") == 0
    assert value(caught_up, "openjam_projection_lag_seconds") == 0
    assert value(behind, "openjam_log_position") == done.position + 1
    assert value(behind, "openjam_projected_position") == done.position
    assert value(behind, "openjam_projection_lag_events") == 1
    assert ("openjam_projection_lag_seconds", ()) in behind


def test_a_scrape_answers_without_the_lag_when_the_store_does_not(tmp_path):
    settings = Settings(data_dir=tmp_path / "var")
    jam = JamApplication(settings)
    with TestClient(create_app(settings, jam=jam)) as client:
        client.app.state.services.runner.stop()
        jam.close()
        samples = scrape(client)
    assert ("openjam_projection_lag_events", ()) not in samples
    assert ("openjam_sse_clients", ()) in samples


def test_the_cluster_refresh_time_set_by_the_ranking_worker_is_exported(client):
    before = scrape(client)
    observe_cluster_refresh(1.5)
    after = scrape(client)
    assert value(after, "openjam_cluster_refresh_seconds_count") == (
        value(before, "openjam_cluster_refresh_seconds_count") + 1
    )
    assert value(after, "openjam_cluster_refresh_last_seconds") == 1.5


def test_the_web_process_ranking_worker_reports_each_refresh(tmp_path, clock):
    jam = JamApplication(Settings(data_dir=tmp_path / "var", read_wait_ms=30_000), clock=clock)
    scene = open_jam(jam, clock)
    with TestClient(create_app(jam.settings, jam=jam)) as client:
        observe_cluster_refresh(0.0)  # a mark: the next value is the worker's own
        before = scrape(client)
        author = scene.join()
        for n in range(3):
            scene.post_idea(author, title=f"Idea {n}")
        leader = scene.join(role="leader")
        token = issue_token(client.app.state.secret, leader)
        ranked = client.get(
            f"/api/jams/{scene.jam_id}/shortlist",
            params={"after": jam.position()},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert ranked.status_code == 200, ranked.text
        after = scrape(client)
    jam.close()
    assert value(after, "openjam_cluster_refresh_seconds_count") > value(
        before, "openjam_cluster_refresh_seconds_count"
    )
    assert value(after, "openjam_cluster_refresh_last_seconds") > 0


def test_a_metrics_token_keeps_out_scrapers_without_it(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", metrics_token="s3cret")  # noqa: S106
    with TestClient(create_app(settings)) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert scrape(client, Authorization="Bearer s3cret")
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert "OPENJAM_METRICS_TOKEN" in missing.json()["detail"]


def test_metrics_are_left_out_of_the_public_api_description(client):
    assert "/metrics" not in client.get("/schema/openapi.json").json()["paths"]


def test_writes_refused_by_the_rate_limit_or_their_size_are_counted_with_the_status_sent(
    tmp_path,
):
    # The limiter refuses before any route runs: its 429 and 413 were counted as 500.
    with TestClient(create_app(Settings(data_dir=tmp_path / "var", writes_per_minute=1))) as client:
        before = scrape(client)
        sign_in = {"invite_code": "no-such-code", "display_name": "Ada"}
        statuses = [
            client.post("/api/session", json=sign_in).status_code,
            client.post("/api/session", json=sign_in).status_code,
            client.post("/api/session", content=b"x" * 70_000).status_code,
        ]
        after = scrape(client)
    assert statuses == [422, 429, 413]
    counted = "openjam_http_requests_total"
    for status in ("422", "429", "413"):
        labels = {"method": "POST", "route": "/api/session", "status": status}
        assert value(after, counted, **labels) == value(before, counted, **labels) + 1, status
    labels = {"method": "POST", "route": "/api/session", "status": "500"}
    assert value(after, counted, **labels) == value(before, counted, **labels)


@pytest.mark.parametrize(
    ("host", "answered"),
    [
        ("127.0.0.1", True),  # the machine itself
        ("10.1.2.3", True),  # a Prometheus on the private network beside the workers
        ("172.18.0.5", True),  # a container network's
        ("::1", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
    ],
)
def test_without_a_token_metrics_answer_private_addresses_only(host, answered):
    from litestar import Request

    from ui.metrics import _authorized

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/metrics",
        "headers": [],
        "client": (host, 1),
    }
    assert _authorized(Request(scope), None) is answered
    assert _authorized(Request(scope), "s3cret") is False  # a token, when set, from anyone
