"""Running the web app with uvicorn, in one process or several."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import uvicorn

from jam.logs import configure_logging
from jam.settings import PREFIX, Settings
from ui.app import create_app

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# On SIGTERM, requests in flight get this long to finish; live streams never finish by
# themselves, so they are cut then, and their clients reconnect with Last-Event-ID.
GRACEFUL_SHUTDOWN_S = 10
# A web process runs its event loop beside threads that work (the group committer, the
# projection, reads filling the cache, the ranking worker). A thread back from a system
# call (SQLite, fsync) waits for the GIL until the running thread lets go of it, which by
# default takes up to 5 ms: a write makes several such calls, and under load their waits
# added up to most of its latency.
SWITCH_INTERVAL_S = 0.001


def share_the_interpreter() -> None:
    """Let threads take turns more often than Python's default in this process."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


class ServeError(ValueError):
    """The requested way of serving cannot work; the message says why."""


def check_port(host: str, port: int) -> None:
    """Raise `ServeError` if the server could not listen on `host`:`port`.

    uvicorn binds only once the application has started (or, with several workers, fails
    with a cryptic message): binding a throwaway socket first (SO_REUSEADDR, as uvicorn)
    to the addresses the host names tells the operator at once, in one line, and starts
    nothing. Only a port in use is refused here: an address family the machine lacks, or
    any other failure, is left to uvicorn, which may bind fewer addresses than are named.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}: {exc.strerror}") from None
    for family, kind, proto, _, address in dict.fromkeys(infos):
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(f"port {port} is in use (on {host})") from None


def serve(settings: Settings, workers: int = 1) -> None:
    check_port(settings.host, settings.port)
    configure_logging(settings, buffered=True)
    share_the_interpreter()
    # Our middleware logs each request with its id, route and duration; uvicorn's
    # access lines would only repeat it in another shape.
    common = {
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, **common)
        return
    if not settings.redis_url:
        # Each worker projects and publishes on its own; only Redis carries one
        # worker's live updates to the clients of the others.
        raise ServeError(f"{workers} workers need {PREFIX}REDIS_URL for live updates between them")
    # Workers are separate processes: they read their settings from the environment.
    os.environ[f"{PREFIX}HOST"], os.environ[f"{PREFIX}PORT"] = settings.host, str(settings.port)
    metrics_dir = _fresh_metrics_dir(settings.metrics_dir)
    os.environ[MULTIPROC_ENV] = str(metrics_dir)  # read by prometheus_client in each worker
    try:
        uvicorn.run(
            "ui.asgi:app", host=settings.host, port=settings.port, workers=workers, **common
        )
    finally:
        if settings.metrics_dir is None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _fresh_metrics_dir(configured: Path | None) -> Path:
    """An empty folder for the workers' metric files: counts start again with the server."""
    if configured is None:
        return Path(tempfile.mkdtemp(prefix="openjam-metrics-"))
    configured.mkdir(parents=True, exist_ok=True)
    for old in configured.glob("*.db"):
        old.unlink()
    return configured
