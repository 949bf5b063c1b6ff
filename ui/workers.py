"""The bodies of `jam worker projections` and `jam worker ranking` (see jam/worker.py).

The projection worker follows the log, keeps the read models, and publishes each
page's live updates on the Redis channels the web workers' streams subscribe to
(the same names and messages as ui/live.py), then announces the page so that
reads waiting with `?after=` look again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time

import redis
from prometheus_client import REGISTRY
from redis.exceptions import RedisError

from jam.settings import Settings
from jam.worker import WorkerFailed, WorkerUnavailable
from projections.db import ViewDatabase
from projections.metrics import observe_cluster_refresh
from projections.projector import Update
from projections.runner import RebuildInProgress
from projections.watch import projected_channel
from ui.bootstrap import build, run_ranking_worker
from ui.health import projection_lag
from ui.live import REDIS_HOLD_S, REDIS_RETRY_S, OutageHold, encode_updates, publish_feed
from ui.metrics import LagCollector

log = logging.getLogger("openjam.worker")
CHECK_S = 1.0  # how often the loop looks whether the projection thread is still alive


class _Stopped(Exception):
    """A stop signal arrived while catching up."""


class RedisPublisher:
    """Publishes each page's updates through plain Redis pub/sub, from a thread of its own.

    While Redis is unreachable, pages wait in order and are tried again every
    REDIS_RETRY_S for as long as `OutageHold` says, then dropped (their updates stay
    in the read models' feed); the projection meanwhile goes on.

    With `mark`, each page also records its log position under that key, so that a
    worker starting after a crash can publish what its predecessor committed to the
    read models but never published (see `publish_unpublished`).
    """

    def __init__(
        self,
        redis_url: str,
        announce_on: str | None,
        hold_s: float = REDIS_HOLD_S,
        mark: str | None = None,
    ) -> None:
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._announce_on = announce_on
        self._hold = OutageHold(hold_s)
        self._mark = mark
        # Each page: its log position and its (message, channel) pairs.
        self._pages: queue.SimpleQueue[tuple[bytes, list[tuple[bytes, str]]] | None] = (
            queue.SimpleQueue()
        )
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openjam-publisher", daemon=True)
        self._thread.start()

    def __call__(self, updates: list[Update]) -> None:
        messages = encode_updates(updates)
        position = str(updates[-1].position).encode()
        if self._announce_on is not None:
            messages.append((position, self._announce_on))
        self._pages.put((position, messages))

    def _send(self, position: bytes, messages: list[tuple[bytes, str]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for data, channel in messages:
            pipe.publish(channel, data)
        if self._mark is not None:
            pipe.set(self._mark, position)
        pipe.execute()

    def published(self) -> int | None:
        """The position last recorded under the mark (None: no mark, or Redis lost it)."""
        if self._mark is None:
            return None
        found = self._redis.get(self._mark)
        return int(found) if found is not None else None

    def _run(self) -> None:
        tried_at = 0.0
        while (page := self._pages.get()) is not None:
            while True:
                now = time.monotonic()
                if self._hold.given_up(now) and now - tried_at < REDIS_RETRY_S:
                    # Dropped untried: Redis was down a moment ago, and a try can take the
                    # connect timeout, so pages would pile up (the feed keeps them).
                    break
                tried_at = now
                try:
                    self._send(*page)
                except RedisError as exc:
                    if not self._hold.failed(time.monotonic(), exc):
                        break  # dropped: the feed keeps it for streams that catch up
                    self._closing.wait(REDIS_RETRY_S)
                    continue
                self._hold.succeeded()
                break

    def close(self) -> None:
        """Publish what is waiting, unless Redis is down (then it is dropped), and stop."""
        self._hold.release()
        self._closing.set()
        self._pages.put(None)
        self._thread.join()
        self._redis.close()


def publish_unpublished(views: ViewDatabase, publisher: RedisPublisher) -> int:
    """Publish what a predecessor committed to the read models but never published: the
    feed past the position the last publisher recorded (see `ui.live.publish_feed`)."""
    try:
        after = publisher.published()
    except RedisError as exc:  # the pages wait in the publisher until Redis is back
        log.warning("the last position published is unknown, Redis is unreachable: %s", exc)
        after = None
    return publish_feed(views, publisher, after)


def project(settings: Settings, stop: threading.Event) -> None:
    if not settings.redis_url:
        raise WorkerUnavailable(
            "the projection worker publishes live updates through Redis: set OPENJAM_REDIS_URL"
        )
    services = build(settings)
    channel = projected_channel(settings.database_schema)
    publisher = RedisPublisher(settings.redis_url, channel, mark=f"{channel}:published")
    runner = services.runner
    if sent := publish_unpublished(services.views, publisher):
        log.info("published the feed's last updates again", extra={"updates": sent})
    runner.on_updates(publisher)
    lag = LagCollector(lambda: projection_lag(services))
    REGISTRY.register(lag)

    def stop_between_pages(done: int, total: int) -> None:
        if stop.is_set():
            raise _Stopped

    try:
        # A long catch-up stops between pages too: each page is committed with its position.
        # Read models marked as being rebuilt: the runner has said so (a warning, once),
        # and its follower waits for the rebuild, then catches up and says so.
        with contextlib.suppress(RebuildInProgress):
            runner.catch_up(progress=stop_between_pages)
        runner.start()  # then follows in a thread
        if not runner.waiting_for_rebuild:
            log.info("projecting", extra={"position": runner.position})
        while not stop.wait(CHECK_S):
            if runner.error is not None:
                raise WorkerFailed(f"the projection stopped: {runner.error!r}")
    except _Stopped:
        log.info("stopped while catching up", extra={"position": runner.position})
    finally:
        REGISTRY.unregister(lag)
        services.close()  # stops following after the page in hand is committed
        publisher.close()


def rank(settings: Settings, stop: threading.Event) -> None:
    """Topic clusters, duplicate pairs and the ranking; refreshes announced through Redis."""
    publish = RedisPublisher(settings.redis_url, None) if settings.redis_url else None
    try:
        run_ranking_worker(settings, stop, on_updates=publish, on_refresh=observe_cluster_refresh)
    finally:
        if publish is not None:
            publish.close()
