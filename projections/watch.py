"""The read models' position when another process projects (`jam worker projections`).

A web worker that does not project still answers `?after=` reads: it reads the
position from the tracking table. The projection worker announces each page it
commits on a Redis channel, which wakes the waiting reads at once; the message
only says "look again", so a lost or foreign message costs at most one poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from projections import queries
from projections.db import ViewDatabase

log = logging.getLogger(__name__)
POLL_S = 0.2  # how long a read waits between looks when no announcement comes
RECONNECT_S = 1.0


def projected_channel(schema: str) -> str:
    """The channel a projection worker announces its pages on (one per read-model schema)."""
    return f"openjam:projected:{schema or 'public'}"


class ProjectionWatch:
    """Knows how far the read models have got; the same reading face as ProjectionRunner."""

    def __init__(self, views: ViewDatabase, redis_url: str, channel: str) -> None:
        self.views = views
        self._redis = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
        self._channel = channel
        self._changed = threading.Condition()
        self._announced = 0  # counts announcements, so a wait never misses one
        self._position = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None  # never set: the worker's failures are its own

    def on_updates(self, callback: Callable[[list[Any]], None]) -> None:
        """Updates are published by the projection worker, not here."""

    @property
    def position(self) -> int:
        return self._read()

    def _read(self) -> int:
        try:
            with self.views.reading() as cur:
                self._position = max(self._position, queries.position(cur))
        except Exception as exc:  # no read models yet: the worker creates them when it starts
            log.debug("read-model position unavailable: %s", exc)
        return self._position

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Block until the read models include `position`; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self._announced
            if self._read() >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                if self._announced == seen:
                    self._changed.wait(min(remaining, POLL_S))

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._listen, name="projection-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._redis.close()

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    pubsub.subscribe(self._channel)
                    while not self._stopping.is_set():
                        if pubsub.get_message(timeout=1.0) is not None:
                            with self._changed:
                                self._announced += 1
                                self._changed.notify_all()
            except redis.RedisError as exc:
                # Reads keep working by polling until Redis is back.
                log.warning("projection announcements unavailable: %s", exc)
                self._stopping.wait(RECONNECT_S)
