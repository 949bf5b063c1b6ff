"""Private PostgreSQL and Redis servers that a failure test may stop and restart.

The shared servers are used by others and are never stopped: a test that takes a
server down starts its own, from the real binaries, on a free port in a temporary
directory. Without the binaries the test skips with the reason (fails under CI=true).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.services import _missing

START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen | None, what: str) -> None:
    # A server starting up: nothing to wait on but its port.
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start listening on port {port}")
        time.sleep(0.05)


class PrivateRedis:
    """A `redis-server` of our own, without persistence; stop() and start() keep its port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _missing("redis-server (for a private Redis)", "not on PATH")
        self._binary = str(binary)
        self._workdir = workdir
        self.port = _free_port()
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self._workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.port, self._proc, "redis-server")

    def stop(self) -> None:
        """Kill the server outright, as a crash or a network cut would look to clients."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own (trust auth) on a free port, in a temporary directory.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
    """

    def __init__(self) -> None:
        bindir = _postgres_bin()
        if bindir is None or not (bindir / "pg_ctl").exists():
            _missing("PostgreSQL binaries (initdb, pg_ctl) for a private server", "not found")
        self._bin = bindir
        # A short path: the server's Unix socket lives here and socket paths are limited.
        self.dir = Path(tempfile.mkdtemp(prefix="ojpg-"))
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        data = str(self.dir / "data")
        self._run("initdb", "-D", data, "--auth=trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [*self._as, str(self._bin / tool), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.dir,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stderr or result.stdout}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.dir / "data"), "-o", options, "-l", str(self.dir / "log"),
            "-w", "-t", str(START_TIMEOUT_S), "start",
        )  # fmt: skip
        _wait_listening(self.port, None, "postgres")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `immediate` aborts every session at once, like a crash."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()
