"""The write limiter, and its counters in Redis that let writes through while Redis is down.

Redis only carries the counters; the event store decides what is recorded. Refusing
every write because the counters cannot be read would turn a Redis outage into a
service outage, so while Redis is down writes go unlimited (and it is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.stores.redis import RedisStore
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class FailOpenRedisStore(RedisStore):
    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        try:
            return await super().get(key, renew_for)
        except RedisError as exc:
            log.warning("rate limits not applied, Redis is unreachable: %s", exc)
            return None

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        try:
            await super().set(key, value, expires_in)
        except RedisError as exc:
            log.warning("rate limits not recorded, Redis is unreachable: %s", exc)


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _is_write(request: Request[Any, Any, Any]) -> bool:
    # Async: litestar would run a plain function in a worker thread for every request.
    return request.method not in _READS


def limit_writes(
    writes_per_minute: int, key: Callable[[Request[Any, Any, Any]], str], exclude: list[str]
) -> Callable[[ASGIApp], ASGIApp]:
    """Litestar's rate limiter for writes only: reads go straight past it.

    Reads were never limited; skipping the limiter spares them building a request
    object and a thread hand-off for the decision.
    """
    config = RateLimitConfig(
        rate_limit=("minute", writes_per_minute),
        identifier_for_request=key,
        check_throttle_handler=_is_write,
        exclude=exclude,
    )

    def middleware_for(app: ASGIApp) -> ASGIApp:
        limited = RateLimitMiddleware(app=app, config=config)

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["method"] in _READS:
                await app(scope, receive, send)
            else:
                await limited(scope, receive, send)

        return middleware

    return middleware_for
