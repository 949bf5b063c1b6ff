"""Logs: one JSON object a line with the request's id and fields, or readable text."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from uuid import uuid4

import httpx
import pytest
import uvicorn
from litestar.testing import TestClient

from jam.logs import (
    BufferedHandler,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    request_id,
)
from jam.settings import Settings
from tests.ops.processes import json_lines, start, stop, wait_answering
from tests.services import require_redis
from tests.ui.harness import free_port
from ui.app import create_app


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("openjam.test", logging.WARNING, __file__, 1, message, args, None)
    rec.__dict__.update(extra)
    return rec


def test_a_json_line_has_time_level_logger_message_and_the_extra_fields():
    line = JsonFormatter().format(record("hello %s", "world", route="/x", status=201))
    parsed = json.loads(line)
    assert "\n" not in line
    assert parsed["level"] == "warning"
    assert parsed["logger"] == "openjam.test"
    assert parsed["message"] == "hello world"
    assert parsed["time"].endswith("+00:00")
    assert (parsed["route"], parsed["status"]) == ("/x", 201)


def test_a_json_line_carries_the_current_request_id_and_any_exception():
    token = request_id.set("req-42")
    try:
        raise ValueError("boom")
    except ValueError:
        rec = record()
        rec.exc_info = sys.exc_info()
        parsed = json.loads(JsonFormatter().format(rec))
    finally:
        request_id.reset(token)
    assert parsed["request_id"] == "req-42"
    assert "ValueError: boom" in parsed["exception"]


def test_values_json_cannot_encode_are_written_as_text():
    parsed = json.loads(JsonFormatter().format(record(when=object, path=io.StringIO)))
    assert parsed["when"] == str(object)


def test_text_lines_append_the_extra_fields():
    line = TextFormatter().format(record("served", status=200, route="/health"))
    assert line.endswith("WARNING openjam.test: served status=200 route=/health")


FORGED = "\n2026-11-22 21:50:49,823 WARNING openjam.auth: admin signed in"


def test_a_text_line_escapes_control_characters_so_one_record_is_one_line():
    path = f"/api/jams/x/topics/x{FORGED}\r\x1b[2K\x00\x85\u2028\tend"
    line = TextFormatter().format(record("POST %s %d", path, 404, path=path, status=404))
    assert line.splitlines() == [line]  # no line break of any kind, Unicode's included
    escaped = "/api/jams/x/topics/x\\n2026-11-22 21:50:49,823 WARNING openjam.auth: admin"
    assert f"openjam.test: POST {escaped} signed in\\r\\x1b[2K\\x00\\x85\\u2028\\tend 404" in line
    assert line.endswith(f" path={escaped} signed in\\r\\x1b[2K\\x00\\x85\\u2028\\tend status=404")


def test_a_text_lines_traceback_follows_indented_so_no_line_of_it_passes_for_a_record():
    try:
        raise ValueError(f"no such topic{FORGED}")
    except ValueError:
        rec = record("failed", route="/x")
        rec.exc_info = sys.exc_info()
    first, *rest = TextFormatter().format(rec).splitlines()
    assert first.endswith("openjam.test: failed route=/x")
    assert rest[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in rest)
    assert rest[-2:] == [
        "    ValueError: no such topic",
        "    2026-11-22 21:50:49,823 WARNING openjam.auth: admin signed in",
    ]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_path_sent_by_anyone_cannot_forge_a_log_line(tmp_path, restore_logging, log_format):
    out = io.StringIO()
    settings = Settings(data_dir=tmp_path / "var", log_format=log_format)
    configure_logging(settings, stream=out)
    with TestClient(create_app(settings)) as client:
        # Anyone may send it: the request is logged, refused as it is.
        forged = "x%0A2026-11-22%2021:50:49,823%20WARNING%20openjam.auth:%20forged"
        sent = client.post(f"/api/jams/{uuid4()}/topics/{forged}", json={})
    assert sent.status_code == 422
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if line.startswith("2026-11-22")]
    if log_format == "json":  # each line one object, the path in it as it was sent
        entries = [json.loads(line) for line in lines]
        (access,) = [e for e in entries if e["logger"] == "openjam.access"]
        assert access["path"].endswith("x\n2026-11-22 21:50:49,823 WARNING openjam.auth: forged")
    else:
        (access,) = [line for line in lines if " openjam.access: " in line]
        assert "x\\n2026-11-22 21:50:49,823 WARNING openjam.auth: forged " in access


def test_configure_logging_sends_every_logger_to_one_handler_in_the_chosen_format(
    restore_logging,
):
    out = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="debug"), stream=out)
    logging.getLogger("uvicorn.error").info("started")
    logging.getLogger("openjam.x").debug("detail", extra={"n": 1})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["logger"], x["message"]) for x in lines] == [
        ("uvicorn.error", "started"),
        ("openjam.x", "detail"),
    ]
    assert lines[1]["n"] == 1


def test_uvicorns_access_lines_stay_off_when_a_worker_configures_its_logging_again(
    restore_logging,
):
    # Each worker of `jam serve --workers N`: uvicorn configures logging (access lines off),
    # then loads ui.asgi, which configures ours.
    uvicorn.Config("ui.asgi:app", log_config=None, access_log=False)
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    access = logging.getLogger("uvicorn.access")
    assert not access.hasHandlers()  # what uvicorn asks before writing an access line
    access.info('127.0.0.1:5000 - "GET /health HTTP/1.1" 200')
    logging.getLogger("uvicorn.error").info("started")
    assert [json.loads(line)["logger"] for line in out.getvalue().splitlines()] == ["uvicorn.error"]


class _Recorded(io.StringIO):
    """A stream that remembers each write and the thread that made it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, threading.Thread]] = []

    def write(self, text: str) -> int:
        self.writes.append((text, threading.current_thread()))
        return super().write(text)


def test_a_buffered_handler_keeps_access_lines_until_any_other_record_comes(restore_logging):
    out = _Recorded()
    handler = BufferedHandler(out, every_s=3600)  # only the rule flushes in this test
    handler.setFormatter(TextFormatter())
    access, other = logging.getLogger("openjam.access"), logging.getLogger("uvicorn.error")
    for log in (access, other):
        log.addHandler(handler)
        log.propagate = False
        log.setLevel(logging.INFO)
    try:
        token = request_id.set("req-3")
        try:
            for n in range(20):
                access.info("GET /x %d", n)
        finally:
            request_id.reset(token)
        assert out.writes == []  # nothing written yet: the event loop never waits on stderr
        other.info("Finished server process")  # written at once, after the lines before it
        assert len(out.writes) == 1
        lines = out.getvalue().splitlines()
        assert [line.split(": ", 1)[1] for line in lines[:2]] == [
            "GET /x 0 request_id=req-3",
            "GET /x 1 request_id=req-3",
        ]
        assert lines[-1].endswith("Finished server process")
        assert len(lines) == 21
        access.warning("GET /slow 200")  # an access line of a warning is written at once too
        assert len(out.writes) == 2
        access.info("GET /last 200")
    finally:
        for log in (access, other):
            log.removeHandler(handler)
            log.propagate = True
            log.setLevel(logging.NOTSET)
        handler.close()  # what happens at exit
    assert out.getvalue().splitlines()[-1].endswith("GET /last 200")


def test_a_buffered_handler_flushes_by_itself_from_its_own_thread(restore_logging):
    out = _Recorded()
    configure_logging(Settings(log_format="json"), stream=out, buffered=True)
    logging.getLogger("openjam.access").info("later")
    for _ in range(100):
        if out.writes:
            break
        threading.Event().wait(0.02)
    (text, writer), *_ = out.writes
    assert json.loads(text)["message"] == "later"
    assert writer is not threading.current_thread()


def test_making_the_web_app_leaves_the_access_logs_flushing_thread_running(
    tmp_path, restore_logging
):
    # litestar's LoggingConfig ran dictConfig, which closes every handler: the access
    # log's lines were then kept in memory until the process ended.
    out = _Recorded()
    settings = Settings(data_dir=tmp_path / "var", log_format="json")
    configure_logging(settings, stream=out, buffered=True)
    create_app(settings)
    logging.getLogger("openjam.access").info("served")
    for _ in range(100):
        if out.writes:
            break
        threading.Event().wait(0.02)
    assert [json.loads(text)["message"] for text, _ in out.writes] == ["served"]


def test_each_request_is_logged_as_json_with_its_id_route_status_and_duration(
    tmp_path, restore_logging
):
    out = io.StringIO()
    settings = Settings(data_dir=tmp_path / "var", log_format="json")
    configure_logging(settings, stream=out)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health", headers={"X-Request-ID": "probe-7"})
        fresh = client.get("/ready")
    assert response.headers["x-request-id"] == "probe-7"
    assert len(fresh.headers["x-request-id"]) == 32  # a new id when the caller sent none
    access = [
        entry
        for entry in map(json.loads, out.getvalue().splitlines())
        if entry["logger"] == "openjam.access"
    ]
    first = access[0]
    assert (first["request_id"], first["method"], first["route"], first["status"]) == (
        "probe-7",
        "GET",
        "/health",
        200,
    )
    assert first["duration_ms"] >= 0
    assert access[1]["request_id"] == fresh.headers["x-request-id"]


def test_a_request_id_that_is_not_a_plain_token_is_replaced(tmp_path):
    forged = 'bad id "} {"level": "forged'
    with TestClient(create_app(Settings(data_dir=tmp_path / "var"))) as client:
        response = client.get("/health", headers={"X-Request-ID": forged})
    assert response.headers["x-request-id"] != forged
    assert len(response.headers["x-request-id"]) == 32


def test_writes_refused_before_any_route_runs_are_logged_with_their_status_and_id(
    tmp_path, restore_logging
):
    out = io.StringIO()
    settings = Settings(data_dir=tmp_path / "var", log_format="json", writes_per_minute=1)
    configure_logging(settings, stream=out)
    sign_in = {"invite_code": "no-such-code", "display_name": "Ada"}
    with TestClient(create_app(settings)) as client:
        answers = [
            client.post("/api/session", json=sign_in),
            client.post("/api/session", json=sign_in, headers={"X-Request-ID": "limited-1"}),
            client.post("/api/session", content=b"x" * 70_000),  # over 64 KiB
            client.post("/signin", data=sign_in, headers={"Accept": "text/html"}),  # a page
        ]
    assert [a.status_code for a in answers] == [422, 429, 413, 429]
    assert answers[1].headers["x-request-id"] == "limited-1"
    assert answers[1].headers["retry-after"] == answers[1].headers["ratelimit-reset"]
    assert answers[3].headers["content-type"].startswith("text/html")  # a page, as before
    access = [
        entry
        for entry in map(json.loads, out.getvalue().splitlines())
        if entry["logger"] == "openjam.access"
    ]
    assert [(e["status"], e["request_id"]) for e in access] == [
        (a.status_code, a.headers["x-request-id"]) for a in answers
    ]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_server_logs_each_request_once_however_many_workers_it_runs(tmp_path, workers):
    env = {
        "OPENJAM_DATA_DIR": str(tmp_path / "var"),
        "OPENJAM_REDIS_URL": require_redis(),  # several workers need it
        "OPENJAM_LOG_FORMAT": "json",
    }
    port, log = free_port(), tmp_path / "web.log"
    web = start(tmp_path, env, log, "serve", "--workers", str(workers), "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_answering(f"{base}/health", web, log)
        sent = [f"probe-{n}" for n in range(10)]
        for rid in sent:  # a connection each: the kernel hands them to either worker
            assert httpx.get(f"{base}/health", headers={"X-Request-ID": rid}).status_code == 200
    finally:
        stop(web)  # the workers write the access lines they keep as they stop
    lines = json_lines(log)
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    access = [line["request_id"] for line in lines if line["logger"] == "openjam.access"]
    assert sorted(rid for rid in access if rid.startswith("probe-")) == sorted(sent)
