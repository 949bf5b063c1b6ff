"""Rate-limit counters in Redis that let writes through while Redis is unreachable.

Redis only carries the counters; the event store decides what is recorded. Refusing
every write because the counters cannot be read would turn a Redis outage into a
service outage, so while Redis is down writes go unlimited (and it is logged).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from litestar.stores.redis import RedisStore
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
