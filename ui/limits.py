"""The write limiter: at most N writes a minute for each participant (each address before
signing in), counted in this process or, with several workers, in Redis.

Attempts to sign in count per address, but only those refused: a wrong code is a guess,
while a whole office signing in behind one address (a NAT, a proxy) at a jam's start is
not, and counting those would refuse all but the first few.

Each identity has a fixed window that opens with its first write and lasts a minute.
Litestar's own limiter held one lock for the whole process across two store round
trips, so every write in the process queued behind every other; here a write is
counted without any lock: in memory with no await at all, in Redis with one atomic
round trip (INCR, and an expiry set only when the window opens).

Redis only carries the counters; the event store decides what is recorded. Refusing
every write because the counters cannot be read would turn a Redis outage into a
service outage, so while Redis is down writes go unlimited (and it is logged).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException, TooManyRequestsException
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WINDOW_S = 60
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_PRUNE_EVERY = 10_000  # windows opened between sweeps of the expired ones
REDIS_TIMEOUT_S = 1.0  # a write waits at most this long for an unreachable counter
_GIVE_BACK = (
    "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then "
    "return redis.call('DECR', KEYS[1]) end return 0"
)


class Counter(Protocol):
    async def hit(self, identity: str) -> tuple[int, float]:
        """Count one write; return the writes in the current window and seconds to its end."""
        ...

    async def give_back(self, identity: str) -> None:
        """Uncount one write of the current window (a sign-in that succeeded)."""
        ...

    async def close(self) -> None: ...


class MemoryCounter:
    """Counters of this process. Nothing here awaits, so no two writes interleave."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[str, list[float]] = {}  # identity -> [window end, count]
        self._opened = 0

    async def hit(self, identity: str) -> tuple[int, float]:
        now = self._clock()
        window = self._windows.get(identity)
        if window is None or window[0] <= now:
            self._opened += 1
            if self._opened % _PRUNE_EVERY == 0:
                self._prune(now)
            window = self._windows[identity] = [now + self._window_s, 0]
        window[1] += 1
        return int(window[1]), window[0] - now

    async def give_back(self, identity: str) -> None:
        window = self._windows.get(identity)
        if window is not None and window[0] > self._clock() and window[1] > 0:
            window[1] -= 1

    def _prune(self, now: float) -> None:
        for identity in [i for i, (end, _) in self._windows.items() if end <= now]:
            del self._windows[identity]

    def __len__(self) -> int:
        return len(self._windows)

    async def close(self) -> None:
        return None


class RedisCounter:
    """Counters shared by every worker. The window's expiry is set only when it opens
    (EXPIRE NX), in the same round trip as the count."""

    def __init__(self, url: str, window_s: int = WINDOW_S, prefix: str = "openjam:writes:"):
        self._url = url
        self._window_s = window_s
        self._prefix = prefix
        self._redis: Redis | None = None

    def _client(self) -> Redis:
        # Made on first use, on the event loop that serves the requests.
        if self._redis is None:
            self._redis = Redis.from_url(
                self._url,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
        return self._redis

    async def hit(self, identity: str) -> tuple[int, float]:
        key = self._prefix + identity
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._window_s, nx=True)
            pipe.pttl(key)
            count, _, ttl_ms = await pipe.execute()
        return int(count), max(ttl_ms, 0) / 1000

    async def give_back(self, identity: str) -> None:
        # Only within the window that counted it: a DECR after the key expired would make a
        # key of -1 without an expiry, a standing extra allowance.
        await self._client().eval(_GIVE_BACK, 1, self._prefix + identity)  # type: ignore[misc]

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


def limit_writes(
    writes_per_minute: int,
    key: Callable[[Request[Any, Any, Any]], str],
    counter: Counter,
    exclude: tuple[str, ...] = (),
    max_body: int | None = None,
    refusals_only: Callable[[Request[Any, Any, Any]], bool] = lambda request: False,
    succeeded: Callable[[Scope], bool] = lambda scope: False,
) -> Callable[[ASGIApp], ASGIApp]:
    """Middleware counting every write (any method but GET, HEAD and OPTIONS) against
    `writes_per_minute` per `key`; reads go straight past it. Refused writes get 429 with
    Retry-After; every counted response carries the RateLimit-* headers. A write whose
    Content-Length is over `max_body` gets 413 at once, whether or not its route reads a
    body (litestar refuses only the bodies it reads). A write for which `refusals_only` holds
    is given back once it has `succeeded` (a sign-in): only its refusals stay counted."""

    def middleware_for(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if (
                scope["type"] != "http"
                or scope["method"] in _READS
                or scope["path"].startswith(exclude)
            ):
                await app(scope, receive, send)
                return
            request = Request(scope)
            if max_body is not None and _length(request) > max_body:
                raise HTTPException(
                    status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                    detail=f"the body is larger than the API accepts (at most {max_body // 1024}"
                    " KiB)",
                )
            identity = key(request)
            try:
                count, reset_s = await counter.hit(identity)
            except RedisError as exc:
                log.warning("rate limits not applied, Redis is unreachable: %s", exc)
                await app(scope, receive, send)
                return
            headers = {
                "RateLimit-Policy": f"{writes_per_minute}; w={WINDOW_S}",
                "RateLimit-Limit": str(writes_per_minute),
                "RateLimit-Remaining": str(max(writes_per_minute - count, 0)),
                "RateLimit-Reset": str(max(math.ceil(reset_s), 1)),
            }
            if count > writes_per_minute:
                raise TooManyRequestsException(
                    detail=f"at most {writes_per_minute} writes a minute; "
                    f"try again in {headers['RateLimit-Reset']} s",
                    headers=headers,
                )

            async def send_with_limits(message: Message) -> None:
                if message["type"] == "http.response.start":
                    extra = MutableScopeHeaders(message)
                    for name, value in headers.items():
                        extra[name] = value
                await send(message)

            await app(scope, receive, send_with_limits)
            if refusals_only(request) and succeeded(scope):
                try:
                    await counter.give_back(identity)
                except RedisError as exc:
                    log.warning("a sign-in stays counted, Redis is unreachable: %s", exc)

        return middleware

    return middleware_for


def _length(request: Request[Any, Any, Any]) -> int:
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:  # not a number: the server refuses the request itself
        return 0


def write_counter(redis_url: str | None) -> Counter:
    """In Redis when configured (shared by every worker), else in this process."""
    return RedisCounter(redis_url) if redis_url else MemoryCounter()
