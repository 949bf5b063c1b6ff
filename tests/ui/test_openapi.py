"""The OpenAPI description tells a client every refusal it can meet, and how it looks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from domain.text import BODY_MAX, TITLE_MAX
from domain.topics import LABEL_MAX
from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.openapi import WRITES

NOBODY = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def api(tmp_path, clock) -> Iterator[tuple[TestClient, Any, Any, dict[str, Any]]]:
    """An API over an open jam; a few writes a minute, and reads that wait briefly."""
    app = JamApplication(
        Settings(data_dir=tmp_path / "var", read_wait_ms=50, writes_per_minute=5), clock=clock
    )
    scene = open_jam(app, clock)
    with TestClient(create_app(app.settings, jam=app)) as client:
        yield client, app, scene, client.get("/schema/openapi.json").json()
    app.close()


def _sign_in(client: TestClient, app: JamApplication, scene: Any, role: str) -> dict[str, str]:
    code = uuid4().hex
    app.handle(c.IssueInvite(code=code, role=role, jam_id=scene.jam_id))
    response = client.post("/api/session", json={"invite_code": code, "display_name": role})
    assert response.status_code == 201, response.text
    client.cookies.clear()  # the token alone signs requests in; without it, nobody
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _operation(schema: dict[str, Any], method: str, url: str) -> dict[str, Any]:
    """The operation a request's path falls under."""
    path = url.split("?")[0]
    for template, item in schema["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) and method in item:
            return item[method]
    raise AssertionError(f"no operation for {method} {path}")


def _documented(schema: dict[str, Any], method: str, url: str, response: Any) -> None:
    answers = _operation(schema, method, url)["responses"]
    status = str(response.status_code)
    assert status in answers, f"{method} {url} answered {status}, documented: {sorted(answers)}"
    assert answers[status]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    body = response.json()
    assert set(body) <= {"error", "detail", "fields"}
    assert {"error", "detail"} <= set(body)
    assert all(isinstance(body[k], str) for k in ("error", "detail"))


def test_no_operation_documents_a_400_and_every_refusal_has_the_error_body(api):
    _, _, _, schema = api
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "detail"}
    assert {"error", "detail", "fields"} == set(error["properties"])
    refusals = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "400" not in responses, (method, path)  # we answer unreadable input 422
            for status, answer in responses.items():
                if int(status) >= 400 and path != "/ready":
                    refusals += 1
                    assert answer["description"], (method, path, status)
                    schema_ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert schema_ref.endswith("/Error"), (method, path, status)
    assert refusals > 100
    assert "503" in schema["paths"]["/ready"]["get"]["responses"]
    assert list(schema["paths"]["/health"]["get"]["responses"]) == ["200"]  # always 200


def test_the_error_body_names_every_code_a_refusal_may_carry(api):
    import domain.errors
    import jam.errors
    from ui.errors import _CODES

    codes = {
        cls.code
        for module in (domain.errors, jam.errors)
        for cls in vars(module).values()
        if isinstance(cls, type) and isinstance(getattr(cls, "code", None), str)
    }
    codes |= {*_CODES.values(), "invalid"}
    # The bases are never sent themselves, and a 400 is answered 422 "invalid".
    codes -= {"application_error", "domain_error", "bad_request"}
    said = api[3]["components"]["schemas"]["Error"]["properties"]["error"]["description"]
    assert codes - set(re.findall(r"[a-z_]+", said)) == set()


def test_a_429_is_described_for_reads_too_not_as_too_many_writes(api):
    paths = api[3]["paths"]
    stream = paths["/api/jams/{jam_id}/stream"]["get"]["responses"]["429"]["description"]
    assert "live stream" in stream
    assert "Retry-After" in stream


def test_refusals_a_client_meets_are_documented_for_the_operation(api):
    client, app, scene, schema = api
    participant = _sign_in(client, app, scene, "participant")
    idea = f"/api/jams/{scene.jam_id}/ideas"
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        ("post", idea, {"json": {"forum": "health", "title": "t", "body": "b"}}, 401),
        ("get", f"/api/jams/{scene.jam_id}/stats", {"headers": participant}, 403),
        ("get", f"/api/ideas/{NOBODY}", {"headers": participant}, 404),
        ("get", f"/api/jams/{NOBODY}/ideas", {"headers": participant}, 403),
        ("post", idea, {"json": {"title": 3}, "headers": participant}, 422),
        ("get", f"{idea}?limit=many", {"headers": participant}, 422),
        ("get", f"{idea}?after=999999999", {"headers": participant}, 422),  # never written
        ("post", "/api/session", {"content": b'{"invite_code": "x", "display_name": "A"}'}, 415),
        ("post", "/api/session", {"json": {"invite_code": "nope", "display_name": "A"}}, 422),
        ("post", idea, {"content": b"{" * 70_000, "headers": participant}, 413),
        (
            "get",
            f"/api/jams/{scene.jam_id}/stream",
            {"headers": {**participant, "Last-Event-ID": "x"}},
            422,
        ),
    ]
    for method, url, how, status in cases:
        response = getattr(client, method)(url, **how)
        assert response.status_code == status, (method, url, response.text)
        _documented(schema, method, url, response)
    post = {"json": {"forum": "health", "title": "Ideas", "body": "b"}, "headers": participant}
    first = client.post(idea, **post)
    assert first.status_code == 201
    again = client.post(idea, **{**post, "headers": {**participant, "Idempotency-Key": "k"}})
    reused = client.post(
        idea,
        json={**post["json"], "title": "Other"},
        headers={**participant, "Idempotency-Key": "k"},
    )
    assert (again.status_code, reused.status_code) == (201, 422)
    _documented(schema, "post", idea, reused)
    app.handle(c.CloseJam(actor=scene.organizer, jam_id=scene.jam_id))
    closed = client.post(idea, **post)
    assert closed.status_code == 409, closed.text
    _documented(schema, "post", idea, closed)
    limited = client.post(idea, **post)
    assert limited.status_code == 429, limited.text  # the sixth counted write (413s are not)
    _documented(schema, "post", idea, limited)
    assert "retry-after" in limited.headers
    client.app.state.services.runner.stop()  # the read models stay where they are
    written = app.handle(c.IssueInvite(code="later", role="participant", jam_id=scene.jam_id))
    behind = client.get(f"{idea}?after={written.position}", headers=participant)
    assert behind.status_code == 503, behind.text
    _documented(schema, "get", idea, behind)


def test_writes_document_the_idempotency_key_and_reads_do_not(api):
    _, _, _, schema = api
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            headers = [p["name"] for p in operation.get("parameters", ()) if p["in"] == "header"]
            # Signing back in, or out, is the same whenever it is repeated: no key to send.
            no_key = {("post", "/api/session/personal-code"), ("delete", "/api/session")}
            takes_key = method in WRITES and (method, path) not in no_key
            assert ("Idempotency-Key" in headers) == takes_key, (method, path)


def test_text_fields_say_how_long_they_may_be(api):
    _, _, _, schema = api
    fields = schema["components"]["schemas"]["NewIdea"]["properties"]
    assert f"at most {TITLE_MAX} characters" in fields["title"]["description"]
    assert f"at most {BODY_MAX:,} characters" in fields["body"]["description"]
    assert "runs of spaces collapsed" in fields["title"]["description"]  # one line
    assert "runs of spaces" not in fields["body"]["description"]  # keeps its lines


def test_closed_choices_are_enums_and_a_label_says_its_limit(api):
    _, _, _, schema = api
    components = schema["components"]["schemas"]

    def choices(struct: str, field: str) -> set[str]:
        prop = components[struct]["properties"][field]
        if "$ref" in prop:
            prop = components[prop["$ref"].rsplit("/", 1)[1]]
        return set(prop["enum"])

    assert choices("NewInvites", "role") == {"participant", "organizer", "leader"}
    assert choices("NewInvites", "segment") == {"employee", "client", "family", "partner"}
    assert choices("DecisionIn", "decision") == {"shortlisted", "funded", "parked", "declined"}
    label = components["TopicChange"]["properties"]["label"]
    assert f"at most {LABEL_MAX} characters once cleaned" in label["description"]


def test_answers_document_the_headers_a_client_reads(api):
    _, _, _, schema = api
    paths = schema["paths"]
    listed = paths["/api/jams/{jam_id}/ideas"]["get"]["responses"]["200"]
    assert "X-Next-Cursor" in listed["headers"]
    posted = paths["/api/jams/{jam_id}/ideas"]["post"]["responses"]
    for status in ("201", "429"):
        assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(
            posted[status]["headers"]
        ), status
    assert "Retry-After" in posted["429"]["headers"]
    assert not paths["/api/ideas/{idea_id}"]["get"]["responses"]["200"].get("headers")
    # A write signed with the cookie and not sending JSON is refused with 403, this one too.
    assert "403" in paths["/api/me/personal-code"]["post"]["responses"]


def test_downloads_and_streams_say_what_they_send(api):
    _, _, _, schema = api
    paths = schema["paths"]
    for path in ("/api/jams/{jam_id}/shortlist", "/api/jams/{jam_id}/topics"):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/csv"}, path
        assert content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1] in (
            "Shortlist",
            "TopicsOut",
        )
    for path in ("/api/jams/{jam_id}/stream", "/api/ideas/{idea_id}/stream"):
        assert set(paths[path]["get"]["responses"]["200"]["content"]) == {"text/event-stream"}
    moderation = schema["components"]["schemas"]["Moderation"]["properties"]["reason"]
    assert "needed to hide or restore, not to dismiss" in moderation["description"]


def test_my_activity_documents_the_404_of_a_participant_never_projected(api):
    _, _, _, schema = api
    answers = schema["paths"]["/api/me/activity"]["get"]["responses"]
    assert "404" in answers
    assert "403" not in answers  # one's own activity: never another's to refuse
