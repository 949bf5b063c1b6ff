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
from datetime import UTC, datetime

import msgspec
import redis
from litestar import Response, route
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import OperationIDCreator

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
    seconds: float  # age of the oldest event not yet projected; 0 when caught up


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


def projection_lag(services: Services) -> Lag:
    """Log end against the read models' position; raises if either cannot be read."""
    end = services.jam.position()
    with services.views.reading() as cur:
        done = queries.position(cur)
    seconds = 0.0
    if end > done:
        page = services.jam.recorder.select_notifications(done + 1, 1)
        if page:
            event = services.jam.mapper.to_domain_event(page[0])
            age = datetime.now(UTC) - event.timestamp  # type: ignore[attr-defined]
            seconds = max(0.0, age.total_seconds())
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
