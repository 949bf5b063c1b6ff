"""The processes a failure test starts and kills: `jam serve` and a projection process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.ops.processes import stop
from tests.ui.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "reliability-tests-share-one-signing-key"  # noqa: S105 (a test key)


def store_env(database_url: str, schema: str, redis_url: str | None = None) -> dict[str, str]:
    """What every process of one topology shares: the store, Redis, the signing key."""
    env = {
        "OPENJAM_DATABASE_URL": database_url,
        "OPENJAM_DATABASE_SCHEMA": schema,
        "OPENJAM_SECRET_KEY": SECRET,
        "OPENJAM_WRITES_PER_MINUTE": "100000",  # the load is many writes from few people
    }
    if redis_url:
        env["OPENJAM_REDIS_URL"] = redis_url
    return env


def _clean_env(env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    # The code under test, not whichever checkout the environment installed: `jam serve`
    # runs from a temporary directory, where a git worktree using the main checkout's venv
    # would otherwise serve the main checkout (as tests/ui/harness.py does).
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), clean.get("PYTHONPATH"))))
    return {**clean, **env}


def children(pid: int) -> list[int]:
    """The direct child processes of `pid` (Linux)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@dataclass
class Server:
    base: str
    proc: subprocess.Popen

    def workers(self) -> list[int]:
        """The worker processes of a `--workers N` server (the supervisor's children),
        leaving out the multiprocessing helper that is not a worker."""
        return [p for p in children(self.proc.pid) if _is_worker(p)]

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"resource_tracker" not in cmdline


def wait_until(predicate, what: str, timeout_s: float = 60, poll_s: float = 0.05) -> None:
    """Poll something outside our control (a process, a port) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll_s)


@contextmanager
def serve(cwd: Path, env: dict[str, str], workers: int = 1) -> Iterator[Server]:
    """`jam serve` on a free port; yields once /health answers."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jam.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=cwd,
        env=_clean_env(env),
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115 (kept by the child)
    )
    server = Server(f"http://127.0.0.1:{port}", proc)

    def started(ready, what: str) -> None:
        wait_until(lambda: ready() or proc.poll() is not None, what)
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())

    try:
        started(server.healthy, "jam serve to start")
        if workers > 1:
            # /health answers once one worker serves; a failure injected while another
            # is still starting would test its start, not the outage.
            started(
                lambda: log.read_text().count("Application startup complete") == workers,
                f"{workers} workers to start",
            )
            wait_until(lambda: len(server.workers()) == workers, f"{workers} workers")
        yield server
    finally:
        stop(proc, timeout=15)


def start_projections(
    database_url: str, schema: str, views_schema: str, page_size: int = 25
) -> subprocess.Popen:
    """The projection process, following the log until killed.

    It prints `START <position>` once it has opened the read models and `AT <position>`
    after each page it applies. To test `jam worker projections` instead, start that
    command here.
    """
    return subprocess.Popen(
        [
            sys.executable, "-m", "tests.reliability.projection_worker",
            "--database-url", database_url, "--schema", schema,
            "--views-schema", views_schema, "--page-size", str(page_size),
        ],
        cwd=ROOT,
        env=_clean_env({}),
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
