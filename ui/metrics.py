"""Prometheus metrics at `/metrics`, and the middleware that measures and logs each request.

`jam serve --workers N` runs N processes behind one port, so a scrape reaches any
one of them: they use prometheus_client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`,
set by `jam serve`), and whichever worker answers reports the sum over all of them.
The projection lag is read from the store at scrape time, so every worker reports
the same positions (and seconds, to within the time between its looks: ui/health.py).
`/metrics` belongs on the internal network: set `OPENJAM_METRICS_TOKEN` to require
`Authorization: Bearer <token>`.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

from litestar import Request, Response, get
from litestar._asgi.utils import wrap_in_exception_handler
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jam.logs import request_id
from ui.health import Lag, projection_lag

log = logging.getLogger("openjam.access")
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ  # read once, as prometheus_client does

HTTP_REQUESTS = Counter(
    "openjam_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "openjam_http_request_duration_seconds",
    "Time from a request's arrival to its response's start (streams: until they open)",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SSE_CLIENTS = Gauge(
    "openjam_sse_clients", "Live-update streams open now", multiprocess_mode="livesum"
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# New request ids: 32 hex digits, random per process, then counted (uuid4 costs a system call).
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNT = itertools.count()


class LagCollector(Collector):
    """Projection lag, read from the store when scraped."""

    def __init__(self, lag: Callable[[], Lag]) -> None:
        self._lag = lag

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            lag = self._lag()
        except Exception as exc:  # a scrape must answer even when the store does not
            log.debug("projection lag unavailable: %s", exc)
            return
        yield GaugeMetricFamily("openjam_log_position", "Last event's position", lag.log_position)
        yield GaugeMetricFamily(
            "openjam_projected_position", "Position the read models include", lag.projected
        )
        yield GaugeMetricFamily(
            "openjam_projection_lag_events", "Events recorded but not yet projected", lag.events
        )
        yield GaugeMetricFamily(
            "openjam_projection_lag_seconds",
            "How long the oldest event not yet projected has waited (0 when caught up)",
            lag.seconds,
        )


def exposition(*extra: Collector) -> bytes:
    """This process's metrics (all workers' in multiprocess mode), then `extra`'s."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if extra:
        others = CollectorRegistry(auto_describe=False)
        for collector in extra:
            others.register(collector)
        body += generate_latest(others)
    return body


def forget_this_process() -> None:
    """At a worker's exit: its live gauges (open streams) stop counting in the sums."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())


def _public_client(request: Request) -> bool:
    """Whether the request comes from a public address (as the server sees it: through a
    proxy, the address it forwards, where FORWARDED_ALLOW_IPS trusts it)."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:  # a Unix socket's peer, or no address at all
        return False


def _authorized(request: Request, token: str | None) -> bool:
    """With a token, whoever sends it; without one, the machine and its private networks
    only (a Prometheus beside the workers), not whoever reaches the public web port."""
    if token is None:
        return not _public_client(request)
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


# litestar adds "; charset=utf-8" to a text type: given twice, Prometheus 3 (Go's
# mime parser) refuses the whole scrape.
MEDIA_TYPE = "; ".join(p for p in CONTENT_TYPE_LATEST.split("; ") if not p.startswith("charset"))


@get("/metrics", sync_to_thread=True, include_in_schema=False)
def metrics(request: Request, state: State) -> Response[bytes]:
    services = state.services
    if not _authorized(request, services.settings.metrics_token):
        if services.settings.metrics_token is None:
            raise PermissionDeniedException(
                "/metrics answers private addresses only; set OPENJAM_METRICS_TOKEN to scrape"
                " it from elsewhere with Authorization: Bearer <token>"
            )
        raise NotAuthorizedException("/metrics wants Authorization: Bearer <OPENJAM_METRICS_TOKEN>")
    body = exposition(LagCollector(lambda: projection_lag(services)))
    return Response(body, media_type=MEDIA_TYPE)


# Finding a labelled child costs more than using it: keep them (routes and methods are few).
@functools.lru_cache(maxsize=4096)
def _latency_of(method: str, route: str) -> Any:
    return HTTP_LATENCY.labels(method, route)


@functools.lru_cache(maxsize=4096)
def _count_of(method: str, route: str, status: int) -> Any:
    return HTTP_REQUESTS.labels(method, route, str(status))


def _incoming_request_id(scope: Scope) -> str:
    """The caller's X-Request-ID if it is a sane token (a proxy's), else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
    return f"{_ID_PREFIX}{next(_ID_COUNT):016x}"


def observe(app: ASGIApp) -> ASGIApp:
    """Count, time and log each HTTP request, under a request id echoed in X-Request-ID."""
    # What the middleware below this one raises (the write limiter's 429 and 413) would
    # be answered by litestar's handler around the router, outside this middleware: the
    # client got its 429 without X-Request-ID while the log and the count said 500. The
    # same handler (the app's exception handlers, pages or JSON) answers it here instead.
    app = wrap_in_exception_handler(app)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = _incoming_request_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # unless a response starts: even the error handlers failed
        method = scope["method"]

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = scope.get("path_template") or "unmatched"
                _latency_of(method, route).observe(time.perf_counter() - started)
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        try:
            await app(scope, receive, send_observed)
        finally:
            route = scope.get("path_template") or "unmatched"
            _count_of(method, route, status).inc()
            log.info(
                "%s %s %d",
                method,
                scope["path"],
                status,
                extra={
                    "method": method,
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id.reset(token)

    return middleware
