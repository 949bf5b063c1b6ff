"""Answers from the committer thread to callers waiting on an event loop.

A `concurrent.futures.Future` wrapped by `asyncio.wrap_future` costs the event
loop, per command, two futures, a lock, a condition and a chain of callbacks,
and a wake-up of the loop for each answer. Here the committer settles a plain
record of the outcome, and the answers bound for one loop are handed over
together: the first answer of a batch schedules one call on the loop, which
sets every asyncio future settled by then.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import Any

Translate = Callable[[BaseException], BaseException]


class Deliveries:
    """Answers bound for one event loop, handed over in as few wake-ups as possible."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []

    def settle(self, future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
        """Called from any thread: `future` gets `result` (or `exc`) on its loop."""
        with self._lock:
            self._pending.append((future, result, exc))
            first = len(self._pending) == 1
        if first:
            try:
                self.loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                with self._lock:
                    self._pending.clear()

    def _deliver(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future, result, exc in pending:
            if future.done():  # the caller gave up waiting (its request was cancelled)
                continue
            if exc is None:
                future.set_result(result)
            else:
                future.set_exception(exc)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deliveries] = (
    weakref.WeakKeyDictionary()
)


def deliveries_for(loop: asyncio.AbstractEventLoop) -> Deliveries:
    """The one `Deliveries` of `loop` (called on the loop's own thread)."""
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = Deliveries(loop)
    return found


class LoopAnswer:
    """What the committer settles for a caller on an event loop.

    It has the face of a `concurrent.futures.Future` that the committer uses
    (`set_result`, `set_exception`, `done`, `exception`, `result`); the outcome is
    kept here, read only by the committer's thread, and passed to `future`, an
    asyncio future of the caller's loop. `translate` turns an exception into the
    one the caller should see.
    """

    __slots__ = ("_deliveries", "_done", "_exc", "_result", "_translate", "future")

    def __init__(self, deliveries: Deliveries, translate: Translate | None = None) -> None:
        self.future: asyncio.Future[Any] = deliveries.loop.create_future()
        self._deliveries = deliveries
        self._translate = translate
        self._done = False
        self._result: Any = None
        self._exc: BaseException | None = None

    def done(self) -> bool:
        return self._done

    def result(self) -> Any:
        if self._exc is not None:
            raise self._exc
        return self._result

    def exception(self) -> BaseException | None:
        return self._exc

    def set_result(self, result: Any) -> None:
        self._settle(result, None)

    def set_exception(self, exc: BaseException) -> None:
        self._settle(None, exc)

    def _settle(self, result: Any, exc: BaseException | None) -> None:
        if self._done:
            raise asyncio.InvalidStateError("this answer is settled already")
        self._done, self._result, self._exc = True, result, exc
        shown = self._translate(exc) if exc is not None and self._translate else exc
        self._deliveries.settle(self.future, result, shown)
