"""The test harness itself: a server whose port was taken meanwhile is started on another."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.ui import harness

pytestmark = pytest.mark.slow


def test_a_server_finding_its_port_taken_is_started_on_another(tmp_path, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        first, second = taken.getsockname()[1], harness.free_port()
        ports = iter([first, second])
        monkeypatch.setattr(harness, "free_port", lambda: next(ports))
        with harness.web_worker(tmp_path, {}) as base:
            assert base == f"http://127.0.0.1:{second}"
            assert httpx.get(f"{base}/health").status_code == 200
