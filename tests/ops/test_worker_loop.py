"""The worker skeleton: a stop signal ends the loop cleanly; a failing loop exits 1, logged."""

from __future__ import annotations

import io
import json
import os
import signal
import threading

import pytest

from jam.settings import Settings
from jam.worker import WorkerFailed, WorkerUnavailable, run


def test_sigterm_sets_the_stop_event_and_the_worker_exits_0(restore_logging):
    before = signal.getsignal(signal.SIGTERM)
    seen = []

    def body(settings: Settings, stop: threading.Event) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        seen.append(stop.wait(10))

    assert run("test", body, Settings()) == 0
    assert seen == [True]
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back


def test_a_failing_loop_is_logged_as_json_and_exits_1(restore_logging, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)

    def body(settings: Settings, stop: threading.Event) -> None:
        raise RuntimeError("the read models vanished")

    assert run("test", body, Settings(log_format="json")) == 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    failed = next(x for x in lines if x["message"] == "the test worker failed")
    assert failed["level"] == "error"
    assert "RuntimeError: the read models vanished" in failed["exception"]


def test_a_worker_failed_reason_is_logged_without_a_traceback(restore_logging, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)

    def body(settings: Settings, stop: threading.Event) -> None:
        raise WorkerFailed("the projection stopped")

    assert run("test", body, Settings(log_format="json")) == 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert any(x["message"] == "the test worker failed: the projection stopped" for x in lines)
    assert not any("exception" in x for x in lines)


def test_a_missing_worker_is_left_to_the_command_line(restore_logging):
    def body(settings: Settings, stop: threading.Event) -> None:
        raise WorkerUnavailable("no such worker")

    with pytest.raises(WorkerUnavailable):
        run("test", body, Settings())
