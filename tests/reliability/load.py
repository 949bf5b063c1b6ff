"""Load for failure tests: writers posting through HTTP and followers of a live stream.

A writer posts ideas and comments, each with its own Idempotency-Key. When a request
gets no answer (its worker died) or a 503 (a store is down), the writer retries the
same request with the same key, as a real client would, until it is acknowledged:
so every write it attempted is either acknowledged once or still being retried.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

import httpx

RETRY_PAUSE_S = 0.05
GIVE_UP_S = 120  # a write still unanswered after this is reported as lost


@dataclass
class Ack:
    kind: str  # "idea" or "comment"
    id: UUID
    position: int
    at: float  # time.monotonic() when acknowledged
    sent: float  # time.monotonic() when the request that was acknowledged was sent


@dataclass
class Refusal:
    status: int
    error: str
    detail: str
    seconds: float
    at: float  # time.monotonic() when refused

    @property
    def sent(self) -> float:
        return self.at - self.seconds


class Writer(threading.Thread):
    def __init__(self, base: str, token: str, jam_id: UUID, name: str, stop: threading.Event):
        super().__init__(name=f"writer-{name}", daemon=True)
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.jam_id = jam_id
        self.label = name
        self.stop_event = stop
        self.acks: list[Ack] = []
        self.outcomes: Counter[str] = Counter()  # status codes and transport errors seen
        self.refusals: list[Refusal] = []  # 503s and other non-2xx answers, with timings
        self.unfinished: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(30, connect=5)) as client:
                n = 0
                while not self.stop_event.is_set():
                    key = f"{self.label}-{n}"
                    if n % 2 == 0 or not self.acks:
                        path = f"/api/jams/{self.jam_id}/ideas"
                        body = {"forum": "health", "title": f"Idea {key}", "body": "Under load"}
                        kind = "idea"
                    else:
                        last_idea = next(a for a in reversed(self.acks) if a.kind == "idea")
                        path = f"/api/ideas/{last_idea.id}/comments"
                        body = {"body": f"Comment {key}"}
                        kind = "comment"
                    self._write(client, kind, path, body, key)
                    n += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def _write(self, client: httpx.Client, kind: str, path: str, body: dict, key: str) -> None:
        headers = {**self.headers, "Idempotency-Key": key}
        deadline = time.monotonic() + GIVE_UP_S
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                response = client.post(self.base + path, json=body, headers=headers)
            except httpx.TransportError as exc:
                self.outcomes[type(exc).__name__] += 1
                time.sleep(RETRY_PAUSE_S)  # a client backing off before it reconnects
                continue
            answered = time.monotonic()
            self.outcomes[str(response.status_code)] += 1
            if response.status_code == 201:
                written = response.json()
                self.acks.append(
                    Ack(kind, UUID(written["id"]), written["position"], answered, started)
                )
                return
            answer = _json(response)
            self.refusals.append(
                Refusal(
                    response.status_code,
                    str(answer.get("error", "")),
                    str(answer.get("detail", response.text[:200])),
                    answered - started,
                    answered,
                )
            )
            if response.status_code != 503:
                raise AssertionError(f"{path} answered {response.status_code}: {response.text}")
            time.sleep(RETRY_PAUSE_S)
        self.unfinished.append(key)


def _json(response: httpx.Response) -> dict:
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


Key = tuple[int, str, str]  # a live update: its log position, kind and item id


@dataclass
class Connection:
    """One connection of a follower to its stream."""

    last_event_id: int  # the Last-Event-ID it sent
    received: set[Key] = field(default_factory=set)  # the updates it brought


class Follower(threading.Thread):
    """Follows a jam's live stream; reconnects with Last-Event-ID whenever it drops.

    `cut` closes its connection, as a network cut would, and holds it off until `resume`:
    what reaches the client after the cut is not taken, so it can only come again through
    the stream it resumes with its Last-Event-ID.
    """

    def __init__(
        self, url: str, last_event_id: int, stop: threading.Event, token: str | None = None
    ) -> None:
        super().__init__(name="follower", daemon=True)
        self.url = url
        self.token = token  # the streams are for the jam's members
        self.last_id = last_event_id
        self.stop_event = stop
        self.seen: set[str] = set()
        self.received: set[Key] = set()
        self.connections: list[Connection] = []
        self._current: Connection | None = None  # None: cut (or not connected yet)
        self.reconnects = 0
        self.resets = 0
        self._changed = threading.Condition()
        self._may_connect = threading.Event()
        self._may_connect.set()
        self._socket: socket.socket | None = None

    def run(self) -> None:
        while not self.stop_event.is_set():
            with contextlib.suppress(httpx.HTTPError, ValueError, OSError):
                self._read()
            if not self.stop_event.is_set():
                self.reconnects += 1
                time.sleep(RETRY_PAUSE_S)  # back off before reconnecting, as browsers do
                while not (self._may_connect.wait(0.1) or self.stop_event.is_set()):
                    pass

    def _read(self) -> None:
        if self.stop_event.is_set():
            return
        with self._changed:
            connection = Connection(self.last_id)
        headers = {"Last-Event-ID": str(connection.last_event_id)}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # A read timeout longer than the server's keep-alive: a silent stream is a dead one.
        timeout = httpx.Timeout(5, read=30)
        with (
            httpx.Client(timeout=timeout) as client,
            client.stream("GET", self.url, headers=headers) as response,
        ):
            if response.status_code != 200:
                return
            with self._changed:
                if not self._may_connect.is_set():  # cut while connecting
                    return
                self.connections.append(connection)
                self._current = connection
                stream = response.extensions.get("network_stream")
                self._socket = stream.get_extra_info("socket") if stream else None
                self._changed.notify_all()
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if self.stop_event.is_set():
                    return
                if line == "":
                    self._take(connection, fields)
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.strip()

    def _take(self, connection: Connection, fields: dict[str, str]) -> None:
        if "id" not in fields:
            return
        with self._changed:
            if connection is not self._current:
                return  # arrived after the connection was cut: never reached the client
            if fields.get("event") == "reset":
                self.resets += 1
            elif "data" in fields:
                updates = json.loads(fields["data"])
                self.seen.update(u["item_id"] for u in updates)
                keys = {(u["position"], u["kind"], u["item_id"]) for u in updates}
                self.received |= keys
                connection.received |= keys
            self.last_id = int(fields["id"])
            self._changed.notify_all()

    def wait_connected(self, timeout_s: float = 30) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self.connections), timeout_s):
                raise AssertionError(f"{self.url} never answered")

    def cut(self) -> int:
        """Close the connection (the client's side) and reconnect only once resumed: the
        Last-Event-ID it will resume with."""
        with self._changed:
            assert self._current is not None, "not connected"
            assert self._socket is not None, "no socket to close"
            self._may_connect.clear()
            self._current = None  # nothing more is taken from it
            with contextlib.suppress(OSError):  # the server may have closed it already
                self._socket.shutdown(socket.SHUT_RDWR)
            return self.last_id

    def resume(self) -> None:
        self._may_connect.set()

    def wait_to_see(self, ids: set[str], timeout_s: float = 60) -> set[str]:
        """Wait until every id has arrived; return those that never did."""
        with self._changed:
            self._changed.wait_for(lambda: ids <= self.seen, timeout_s)
            return ids - self.seen

    def wait_to_receive(self, updates: set[Key], timeout_s: float = 60) -> set[Key]:
        """Wait until every update has arrived; return those that never did."""
        with self._changed:
            self._changed.wait_for(lambda: updates <= self.received, timeout_s)
            return updates - self.received


@dataclass
class Load:
    """Writers (stopped by `stop`) and followers (which follow until `closed`)."""

    writers: list[Writer] = field(default_factory=list)
    followers: list[Follower] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        for thread in [*self.writers, *self.followers]:
            thread.start()

    def acked_count(self) -> int:
        return sum(len(w.acks) for w in self.writers)

    def wait_for_acks(self, more_than: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while self.acked_count() <= more_than:
            errors = [w.error for w in self.writers if w.error]
            if errors:
                raise errors[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"the load did not get past {more_than} acknowledged writes")
            time.sleep(0.05)

    def finish(self) -> list[Ack]:
        """Stop writing; every writer ends its last write; return every acknowledged one."""
        self.stop.set()
        for w in self.writers:
            w.join()
        errors = [w.error for w in self.writers if w.error]
        if errors:
            raise errors[0]
        return [a for w in self.writers for a in w.acks]

    def settle(self, more: int = 30, timeout_s: float = 60) -> tuple[list[Ack], list[set[str]]]:
        """After `more` acknowledged writes, stop writing and give each follower time to
        see every acknowledged write: the writes, and what each follower never saw."""
        self.wait_for_acks(self.acked_count() + more, timeout_s)
        acks = self.finish()
        written = {str(a.id) for a in acks}
        return acks, [f.wait_to_see(written) for f in self.followers]

    def close(self) -> None:
        self.stop.set()
        self.closed.set()

    def outcomes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for w in self.writers:
            total.update(w.outcomes)
        return total

    def refusals(self) -> list[Refusal]:
        return [r for w in self.writers for r in w.refusals]

    def unfinished(self) -> list[str]:
        return [k for w in self.writers for k in w.unfinished]
