"""Logs: one JSON object a line with the request's id and fields, or readable text."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading

from litestar.testing import TestClient

from jam.logs import (
    BufferedHandler,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    request_id,
)
from jam.settings import Settings
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
