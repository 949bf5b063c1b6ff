"""`jam serve` keeps its state under ./var of the working directory and answers /health."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ui import server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_when_up(url: str, proc: subprocess.Popen, deadline_s: float = 30) -> dict:
    # Waiting for a server to start listening: poll the port, since no log position exists yet.
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            if proc.poll() is not None or time.monotonic() > end:
                raise
            time.sleep(0.05)


@pytest.mark.slow
def test_serve_answers_health_with_state_in_the_working_directory(tmp_path: Path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jam.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        health = _get_when_up(f"http://127.0.0.1:{port}/health", proc)
        # Load balancers and uptime monitors probe with HEAD: the status, and no body.
        probe = urllib.request.Request(f"http://127.0.0.1:{port}/health", method="HEAD")
        with urllib.request.urlopen(probe, timeout=5) as response:
            assert (response.status, response.read()) == (200, b"")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert health == {"status": "ok", "store": "sqlite", "position": 0}
    assert (tmp_path / "var" / "events.sqlite3").exists()


def test_serve_refuses_a_bad_port(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "jam.cli", "serve", "--port", "70000"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "a port is at most 65535" in result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_port_in_use_says_so_and_starts_nothing(workers, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    env["OPENJAM_REDIS_URL"] = "redis://127.0.0.1:6379/15"  # several workers need it (unused)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "jam.cli", "serve", "--port", str(port), "--workers", workers],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert (result.returncode, result.stderr) == (2, f"jam: port {port} is in use (on 127.0.0.1)\n")
    assert not (tmp_path / "var").exists()  # the application never started


def test_only_a_port_in_use_is_refused_before_serving(monkeypatch):
    # An address the machine cannot bind (an unconfigured one, a family it lacks) is left to
    # uvicorn, which may bind fewer addresses than the host names.
    unbindable = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", 0))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: [unbindable])
    server.check_port("example.invalid", 0)  # no refusal
    monkeypatch.undo()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(server.ServeError, match=f"port {port} is in use"):
            server.check_port("127.0.0.1", port)
