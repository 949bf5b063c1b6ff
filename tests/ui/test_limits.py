"""The write limiter: its counters in memory and in Redis, and the middleware around them."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest
import redis

from tests.services import require_redis
from ui import limits
from ui.limits import MemoryCounter, RedisCounter, limit_writes


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_counts_a_minute_of_writes_from_the_first_then_starts_again():
    clock = _Clock()
    counter = MemoryCounter(window_s=60, clock=clock)
    assert asyncio.run(counter.hit("ada")) == (1, 60)
    clock.now += 59
    assert asyncio.run(counter.hit("ada")) == (2, 1)
    assert asyncio.run(counter.hit("bob")) == (1, 60)  # each identity has its own window
    clock.now += 1
    assert asyncio.run(counter.hit("ada")) == (1, 60)


def test_expired_windows_are_swept_so_the_counters_do_not_grow_without_end(monkeypatch):
    monkeypatch.setattr(limits, "_PRUNE_EVERY", 10)
    clock = _Clock()
    counter = MemoryCounter(window_s=60, clock=clock)
    for n in range(9):
        asyncio.run(counter.hit(f"early {n}"))
    clock.now += 61
    asyncio.run(counter.hit("late"))  # the tenth window opened: the nine expired ones go
    assert len(counter) == 1


def test_concurrent_writes_of_one_participant_are_all_counted():
    counter = MemoryCounter()

    async def many() -> list[int]:
        hits = await asyncio.gather(*(counter.hit("ada") for _ in range(200)))
        return [count for count, _ in hits]

    assert sorted(asyncio.run(many())) == list(range(1, 201))


def _scope(who: str, method: str = "POST", path: str = "/api/x") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(b"x-who", who.encode())],
        "query_string": b"",
    }


class _HeldCounter(MemoryCounter):
    """Counts like MemoryCounter, but holds Ada's count until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def hit(self, identity: str) -> tuple[int, float]:
        if identity == "ada":
            await self.release.wait()
        return await super().hit(identity)


def test_one_participants_slow_count_holds_up_nobody_else():
    # Litestar's limiter held one lock for the whole process across its store calls.
    async def run() -> list[str]:
        done: list[str] = []
        counter = _HeldCounter()

        async def app(scope, receive, send) -> None:
            done.append(scope["headers"][0][1].decode())

        limited = limit_writes(10, lambda r: r.headers["x-who"], counter)(app)
        ada = asyncio.create_task(limited(_scope("ada"), None, None))
        await asyncio.wait_for(limited(_scope("bob"), None, None), timeout=2)
        assert done == ["bob"]
        counter.release.set()
        await ada
        return done

    assert asyncio.run(run()) == ["bob", "ada"]


def test_reads_and_excluded_paths_are_not_counted():
    async def run() -> int:
        counter = MemoryCounter()

        async def app(scope, receive, send) -> None:
            return None

        limited = limit_writes(1, lambda r: r.headers["x-who"], counter, exclude=("/health",))(app)
        await limited(_scope("ada", method="GET"), None, None)
        await limited(_scope("ada", path="/health"), None, None)
        return len(counter)

    assert asyncio.run(run()) == 0


@pytest.fixture
def redis_url() -> str:
    return require_redis()


def test_redis_counts_are_shared_and_the_window_is_not_extended_by_later_writes(redis_url):
    prefix = f"test:writes:{uuid4().hex}:"
    one, two = RedisCounter(redis_url, prefix=prefix), RedisCounter(redis_url, prefix=prefix)
    plain = redis.Redis.from_url(redis_url)

    async def run() -> list[tuple[int, float]]:
        first = await one.hit("ada")
        plain.expire(prefix + "ada", 5)  # as if the window had 5 s left
        second = await two.hit("ada")  # another worker: same count, same window
        await one.close()
        await two.close()
        return [first, second]

    try:
        (count1, reset1), (count2, reset2) = asyncio.run(run())
        assert (count1, count2) == (1, 2)
        assert 59 < reset1 <= 60
        assert 0 < reset2 <= 5  # EXPIRE NX: a later write does not push the reset back
    finally:
        plain.delete(prefix + "ada")
        plain.close()


def test_a_write_given_back_is_uncounted_only_within_its_window():
    clock = _Clock()
    counter = MemoryCounter(clock=clock)

    async def run() -> list[int]:
        await counter.hit("address:a")
        await counter.hit("address:a")
        await counter.give_back("address:a")
        third = (await counter.hit("address:a"))[0]
        clock.now += 61  # the window is over: nothing left to give back
        await counter.give_back("address:a")
        return [third, (await counter.hit("address:a"))[0]]

    assert asyncio.run(run()) == [2, 1]


def test_redis_gives_back_within_the_window_and_never_makes_an_allowance(redis_url):
    prefix = f"test:writes:{uuid4().hex}:"
    counter = RedisCounter(redis_url, prefix=prefix)
    plain = redis.Redis.from_url(redis_url)

    async def run() -> list[int]:
        await counter.hit("ada")
        await counter.hit("ada")
        await counter.give_back("ada")
        counted = (await counter.hit("ada"))[0]
        plain.delete(prefix + "ada")  # the window expired
        await counter.give_back("ada")
        await counter.close()
        return [counted]

    try:
        assert asyncio.run(run()) == [2]
        # No key of -1 without an expiry (a standing extra allowance).
        assert plain.get(prefix + "ada") is None
    finally:
        plain.delete(prefix + "ada")
        plain.close()
