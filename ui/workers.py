"""The bodies of `jam worker projections` and `jam worker ranking` (see jam/worker.py).

The projection worker follows the log, keeps the read models, and publishes each
page's live updates on the Redis channels the web workers' streams subscribe to
(the same names and messages as ui/live.py), then announces the page so that
reads waiting with `?after=` look again.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import redis
from prometheus_client import REGISTRY

from jam.settings import Settings
from jam.worker import WorkerFailed, WorkerUnavailable
from projections.metrics import observe_cluster_refresh
from projections.projector import Update
from projections.runner import RebuildInProgress
from projections.watch import projected_channel
from ui.bootstrap import build, run_ranking_worker
from ui.health import projection_lag
from ui.live import encode_updates
from ui.metrics import LagCollector

log = logging.getLogger("openjam.worker")
CHECK_S = 1.0  # how often the loop looks whether the projection thread is still alive


class _Stopped(Exception):
    """A stop signal arrived while catching up."""


class RedisPublisher:
    """Publishes each projected page's updates through plain Redis pub/sub."""

    def __init__(self, redis_url: str, announce_on: str) -> None:
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._announce_on = announce_on

    def __call__(self, updates: list[Update]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for data, channel in encode_updates(updates):
            pipe.publish(channel, data)
        pipe.publish(self._announce_on, str(updates[-1].position))
        pipe.execute()

    def close(self) -> None:
        self._redis.close()


def project(settings: Settings, stop: threading.Event) -> None:
    if not settings.redis_url:
        raise WorkerUnavailable(
            "the projection worker publishes live updates through Redis: set OPENJAM_REDIS_URL"
        )
    services = build(settings)
    publisher = RedisPublisher(settings.redis_url, projected_channel(settings.database_schema))
    runner = services.runner
    runner.on_updates(publisher)
    lag = LagCollector(lambda: projection_lag(services))
    REGISTRY.register(lag)

    def stop_between_pages(done: int, total: int) -> None:
        if stop.is_set():
            raise _Stopped

    try:
        # A long catch-up stops between pages too: each page is committed with its position.
        with contextlib.suppress(RebuildInProgress):  # the follower waits for the rebuild
            runner.catch_up(progress=stop_between_pages)
        runner.start()  # then follows in a thread
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
    publish = None
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=5
        )

        def publish(updates: list[Update]) -> None:
            pipe = client.pipeline(transaction=False)
            for data, channel in encode_updates(updates):
                pipe.publish(channel, data)
            pipe.execute()

    run_ranking_worker(settings, stop, on_updates=publish, on_refresh=observe_cluster_refresh)
