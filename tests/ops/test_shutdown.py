"""`jam serve` stops on SIGTERM even while live streams are open: they are cut after the grace
period, and their clients reconnect elsewhere with Last-Event-ID."""

from __future__ import annotations

import signal

import pytest

from jam.application import JamApplication
from jam.settings import Settings
from tests.ops.processes import start, stop, wait_answering
from tests.stories import open_jam
from tests.ui.harness import SSEClient, free_port, member_token
from tests.ui.test_live import Now
from ui.server import GRACEFUL_SHUTDOWN_S

pytestmark = pytest.mark.slow


def test_an_open_stream_does_not_keep_the_server_from_stopping(tmp_path):
    with JamApplication(Settings(data_dir=tmp_path / "var")) as app:
        scene = open_jam(app, Now())
    port, log = free_port(), tmp_path / "web.log"
    web = start(tmp_path, {}, log, "serve", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_answering(f"{base}/health", web, log)
        token = member_token(tmp_path / "var", scene.organizer)
        stream = SSEClient(f"{base}/api/jams/{scene.jam_id}/stream", last_event_id=1, token=token)
        assert stream.next().id > 1  # connected and following
        stream.close()  # from here its end is expected; the connection stays open meanwhile
        # Only the server's grace period can end the stream. uvicorn exits by the signal it
        # was stopped with, once shut down; without the grace period stop() would SIGKILL it.
        assert stop(web, timeout=GRACEFUL_SHUTDOWN_S + 20) == -signal.SIGTERM, log.read_text()
        assert "Application shutdown complete" in log.read_text()
    finally:
        stop(web)
