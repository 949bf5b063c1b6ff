"""Liveness (`/health`) and readiness (`/ready`) for probes and load balancers.

`/health` answers 200 while the process serves requests, so a probe restarts only
a worker that is stuck, never every worker because the database blinked; its body
still tells a human whether the event store answers. `/ready` answers 503 with the
reason while this worker should get no traffic: the event store unreachable, the
read models missing or further behind than `OPENJAM_READY_MAX_LAG_S`, or Redis
(when configured) unreachable.

Both answer HEAD as well as GET (load balancers and uptime monitors often send HEAD):
the same status and headers, and the server leaves the body out.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from datetime import datetime

import msgspec
import redis
from litestar import Response, route
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import OperationIDCreator

from jam.application import JamApplication
from jam.errors import StoreUnavailable
from projections import queries
from ui.bootstrap import Services

REDIS_TIMEOUT_S = 1.0


class Health(msgspec.Struct):
    status: str
    store: str
    position: int


class Lag(msgspec.Struct):
    """How far the read models are behind the log."""

    log_position: int
    projected: int
    events: int
    seconds: float  # how long the oldest event not yet projected has waited; 0 when caught up


class Readiness(msgspec.Struct):
    status: str  # "ready" or "not ready"
    reason: str | None
    store: str
    projections: str  # inline or external
    redis: str  # ok, unreachable: ..., or not configured
    lag: Lag | None
    pid: int  # which worker answered: several share one port


# HEAD runs the GET handler: litestar answers HEAD only for routes that list it, and
# uvicorn sends a HEAD answer's status and headers without the body.
PROBE_METHODS = [HttpMethod.GET, HttpMethod.HEAD]


def _operation_ids(get_id: str) -> OperationIDCreator:
    """GET's OpenAPI operation id stays what generated clients call it; HEAD gets its own
    (litestar would otherwise name one operation for both methods)."""
    return lambda handler, method, path: get_id if method == HttpMethod.GET else f"{get_id}Head"


@route(
    "/health",
    http_method=PROBE_METHODS,
    operation_id=_operation_ids("HealthHealth"),
    sync_to_thread=True,
    summary="Is this process up? (always 200 while it serves)",
    security=[{}],  # for anyone: probes carry no session
    opt={"never": (503,)},  # says so in its body instead
)
def health(state: State) -> Health:
    services: Services = state.services
    store = services.settings.store_name
    try:
        position = services.jam.position()
    except StoreUnavailable as exc:
        status = f"unavailable: {type(exc.__cause__).__name__}"
        return Health(status=status, store=store, position=-1)
    return Health(status="ok", store=store, position=position)


class LogSightings:
    """When this process first saw the log reach each end it has seen, for as long as the
    read models have not reached it: the earliest sighting past the read models' position
    is when their oldest missing event was in the log by.

    The log keeps no time of writing, and an event's own time is not one: an import, or
    the demo's seed, writes events stamped days or years before (their original times),
    and their age made the read models look days behind while they were a page behind.
    Seen from here, they are behind for as long as they have been; measured between this
    process's looks at the log (every probe and scrape), and from the first look in a
    process that started while they were already behind.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # probes and scrapes run in threads of their own
        self._seen: list[tuple[int, datetime]] = []  # (log end, first seen), both increasing

    def behind_since(self, end: int, projected: int, now: datetime) -> datetime | None:
        """Note that the log reaches `end` at `now`; when the log was first seen past
        `projected` (None when the read models include the whole log)."""
        with self._lock:
            if not self._seen or end > self._seen[-1][0]:
                self._seen.append((end, now))
            elif end < self._seen[-1][0]:  # another log (a store restored from a copy)
                self._seen = [(end, now)]
            while self._seen and self._seen[0][0] <= projected:
                del self._seen[0]  # projected: no longer anything to wait for
            return self._seen[0][1] if self._seen else None


_SIGHTINGS: weakref.WeakKeyDictionary[JamApplication, LogSightings] = weakref.WeakKeyDictionary()
_SIGHTINGS_LOCK = threading.Lock()


def _sightings(jam: JamApplication) -> LogSightings:
    with _SIGHTINGS_LOCK:
        return _SIGHTINGS.setdefault(jam, LogSightings())


def projection_lag(services: Services) -> Lag:
    """Log end against the read models' position; raises if either cannot be read."""
    end = services.jam.position()
    with services.views.reading() as cur:
        done = queries.position(cur)
    now = services.jam.now()
    since = _sightings(services.jam).behind_since(end, done, now)
    seconds = 0.0 if since is None else max(0.0, (now - since).total_seconds())
    return Lag(log_position=end, projected=done, events=max(0, end - done), seconds=seconds)


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )


def redis_status(url: str | None) -> str:
    if not url:
        return "not configured"
    try:
        _redis(url).ping()
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def readiness(services: Services) -> Readiness:
    settings = services.settings
    reasons: list[str] = []
    lag: Lag | None = None
    try:
        lag = projection_lag(services)
    except StoreUnavailable as exc:
        reasons.append(f"event store unavailable: {type(exc.__cause__).__name__}")
    except Exception as exc:  # no read models yet, or their database is down
        reasons.append(f"read models unavailable: {type(exc).__name__}")
    if lag is not None and lag.seconds > settings.ready_max_lag_s:
        reasons.append(
            f"read models {lag.events} events ({lag.seconds:.0f} s) behind the log; "
            f"the bound is {settings.ready_max_lag_s:g} s"
        )
    if services.runner.error is not None:
        reasons.append(f"the projection stopped: {type(services.runner.error).__name__}")
    redis_state = redis_status(settings.redis_url)
    if redis_state.startswith("unreachable"):
        reasons.append(f"redis {redis_state}")
    return Readiness(
        status="not ready" if reasons else "ready",
        reason="; ".join(reasons) or None,
        store=settings.store_name,
        projections=settings.projections,
        redis=redis_state,
        lag=lag,
        pid=os.getpid(),
    )


@route(
    "/ready",
    http_method=PROBE_METHODS,
    operation_id=_operation_ids("ReadyReady"),
    sync_to_thread=True,
    summary="Should this worker get traffic? 503 with the reason",
    security=[{}],  # for anyone: probes carry no session
    responses={
        HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
            Readiness, description="Not ready: `reason` says why (the same body as 200)."
        )
    },
)
def ready(state: State) -> Response[Readiness]:
    answer = readiness(state.services)
    status = HTTP_503_SERVICE_UNAVAILABLE if answer.reason else 200
    return Response(answer, status_code=status)
