"""Real web worker processes (`jam serve`) and a small SSE client, for live-stream tests."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from jam.settings import Settings
from tests.ops.processes import stop
from ui.auth import SESSION_COOKIE, issue_token, secret_key

ROOT = Path(__file__).resolve().parents[2]  # the checkout these tests belong to
START_S = 90  # a busy machine can take this long to start a server and its workers
PORT_TRIES = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def web_worker(cwd: Path, env: dict[str, str], *args: str) -> Iterator[str]:
    """Start `jam serve` on a free port; yield its base URL once /health answers."""
    for attempt in range(PORT_TRIES):
        proc, base = _start(cwd, env, args)
        if proc is not None:
            break
        # Another process took the port between free_port() and the server's bind.
        if attempt == PORT_TRIES - 1:
            raise RuntimeError(f"jam serve found no free port in {PORT_TRIES} tries: {base}")
    try:
        yield base
    finally:
        stop(proc, timeout=10)


def _start(
    cwd: Path, env: dict[str, str], args: tuple[str, ...]
) -> tuple[subprocess.Popen[bytes], str] | tuple[None, str]:
    """A started server and its URL, or None and what it said when its port was taken."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    # The code under test, not whichever checkout the environment installed: a server started
    # from a git worktree with the main checkout's venv would serve the main checkout.
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), clean.get("PYTHONPATH"))))
    # The server logs every request: to a file, because a pipe nobody reads fills up and
    # then blocks the server in the middle of a test.
    log = Path(cwd) / f"jam-serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jam.cli", "serve", "--port", str(port), *args],
            cwd=cwd,
            env={**clean, **env},
            stdout=out,  # both: a server that dies at start says why somewhere
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_S
    while True:  # waiting for the process to listen: nothing to wait on but the port
        try:
            answered = httpx.get(f"{base}/health", timeout=1).status_code == 200
            if answered and proc.poll() is None:  # ours, not another process on that port
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            how = f"exit code {proc.wait()}, port {port}"
            said = log.read_text(errors="replace")
            # Said by jam serve's own check, or by uvicorn if the port went between the two.
            if "is in use" in said or "address already in use" in said.lower():
                return None, said
            raise RuntimeError(f"jam serve did not start ({how}): {said}")
        time.sleep(0.05)


@dataclass
class Event:
    id: int
    kind: str
    data: dict


class SSEClient:
    """Reads a Server-Sent Events stream in a thread; each update arrives on a queue."""

    def __init__(self, url: str, last_event_id: int | None = None, *, token: str) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        headers = {"Authorization": f"Bearer {token}"}  # a jam's streams are for its members
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()
        if not self._connected.wait(10):
            raise RuntimeError(f"could not connect to {url}")

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read(url, headers)
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(5, read=None)) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            self._connected.set()
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line == "":
                    if fields.get("event") == "reset":
                        self.events.put(
                            Event(int(fields["id"]), "reset", json.loads(fields["data"]))
                        )
                    elif "data" in fields:  # a batch of updates, in log order
                        for update in json.loads(fields["data"]):
                            self.events.put(Event(update["position"], update["kind"], update))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.strip()

    def next(self, timeout: float = 10, *, topics: bool = False) -> Event:
        """The next update; topic-refresh notices are skipped unless `topics` is asked for."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            if topics or event.kind != "topics":
                return event

    def close(self) -> None:
        self._stop.set()


def member_token(data_dir: Path, participant: UUID) -> str:
    """A session token for `participant` that a server keeping its key in `data_dir` takes."""
    return issue_token(secret_key(Settings(data_dir=data_dir)), participant)


def read_as(client: Any, participant: UUID) -> None:
    """Make `client`'s requests come from `participant` (the session cookie), unless a
    request names someone else: a jam's ideas are read by its members only."""
    client.cookies.set(SESSION_COOKIE, issue_token(client.app.state.secret, participant))
