"""The ranking worker's results as they stood at a past time, computed again from the log.

Topics and the ranking are pure functions of the log and the organizers' decisions
about topics, so replaying the log to a time and refreshing gives what the worker
gave then: for the shortlist as of any time, and for hours whose topics were not
kept (a jam imported with its original times, or history lost with a schema change).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import msgspec

from projections import queries
from projections import ranking_views as rv
from projections.db import SQLiteViews
from projections.runner import LogReader
from projections.timetravel import views_as_of
from ranking.engine import Refreshed
from ui.bootstrap import Services
from ui.errors import Busy

# A replay reads the whole log and refreshes the topics and the ranking: seconds of CPU
# for a large jam. One at a time per worker, so looking back cannot starve the jam.
REPLAY_WAIT_S = 20.0
# Look-backs that may wait for the one running. A look-back waits in a thread of the
# worker's pool, which every read shares: 80 of them waiting held it all, and a
# participant's idea list took 37 s. Any more are refused at once.
REPLAY_QUEUE = 1
REPLAY_RETRY_AFTER_S = 5  # about as long as a replay takes


class Replays:
    """This worker's turn at replaying the log, and the look-backs waiting for it."""

    def __init__(self, queue: int = REPLAY_QUEUE) -> None:
        self.queue = queue
        self._turn = threading.Lock()
        self._count = threading.Lock()  # guards `waiting`
        self.waiting = 0

    @contextmanager
    def turn(self, wait_s: float = REPLAY_WAIT_S) -> Iterator[None]:
        """Hold the turn; 503 at once when `queue` look-backs wait for it already, or
        after `wait_s`."""
        if not self._turn.acquire(blocking=False):
            with self._count:
                if self.waiting >= self.queue:
                    raise _busy()
                self.waiting += 1
            try:
                got = self._turn.acquire(timeout=wait_s)
            finally:
                with self._count:
                    self.waiting -= 1
            if not got:
                raise _busy()
        try:
            yield
        finally:
            self._turn.release()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the turn without waiting in line (as a semaphore does): for tests."""
        return self._turn.acquire(blocking, timeout)

    def release(self) -> None:
        self._turn.release()


def _busy() -> Busy:
    return Busy(
        "other views of the past are being computed; retry in a few seconds",
        headers={"Retry-After": str(REPLAY_RETRY_AFTER_S)},
    )


REPLAYS = Replays()


@contextmanager
def one_replay() -> Iterator[None]:
    """Hold this worker's one turn at replaying the log (see Replays)."""
    with REPLAYS.turn(REPLAY_WAIT_S):
        yield


class _Stamp(msgspec.Struct):
    timestamp: datetime


class LogAsOf:
    """The log, as a replay to time `at` reads it, noting how far it had been written by
    then: `position`, the last event before the first one stamped after `at`.

    Events are mostly stamped in the log's order, but some carry an earlier time than
    events written before them (a demo seeded with a past, a Pol.is conversation imported
    with its original times, a command decided a moment before another that was written
    first). A replay to `at` keeps those wherever they stand, so the last event it keeps
    may stand after events it passed over: as the view's position, it would claim events
    the view does not hold (and a look back that shows the jam's first minutes would
    answer with a position near the log's end).
    """

    def __init__(self, log: LogReader, stamp: Callable[[bytes], _Stamp], at: datetime) -> None:
        self._log, self._stamp, self._at = log, stamp, at
        self._passed = False
        self.position = 0

    def select_rows(
        self, start: int, limit: int, stop: int | None = None
    ) -> list[tuple[int, str, str, bytes]]:
        rows = self._log.select_rows(start, limit, stop=stop)
        if not self._passed:
            for row in rows:
                if self._stamp(row[3]).timestamp > self._at:
                    self._passed = True
                    break
                self.position = row[0]
        return rows

    def max_notification_id(self) -> int | None:
        return self._log.max_notification_id()

    def subscribe(self, gt: int | None = None) -> Any:
        return self._log.subscribe(gt)


def _stamps(services: Services) -> Callable[[bytes], _Stamp]:
    """Reads the time an event of the log was stamped with, and nothing else of it."""
    return services.jam.mapper.transcoder.views_decoder(_Stamp)  # type: ignore[attr-defined]


def written_at(services: Services, position: int) -> datetime | None:
    """The time of the log's event at `position` (None before the first): what "now" was
    for a look back to that position."""
    rows = services.jam.recorder.select_rows(position, 1, stop=position)
    if not rows or rows[0][0] != position:
        return None
    return _stamps(services)(rows[0][3]).timestamp


@contextmanager
def replayed(
    services: Services, *, position: int | None = None, at: datetime | None = None
) -> Iterator[tuple[SQLiteViews, int]]:
    """Scratch read models as of a log `position` or a time `at` (by the events' times),
    and the log position they stand for: as of a time, how far the log had been written
    by then (see LogAsOf)."""
    log: LogReader = services.jam.recorder
    timed = None
    if at is not None:
        log = timed = LogAsOf(log, _stamps(services), at)
    with views_as_of(log, services.projector, position=position, at=at) as views:
        if timed is not None:
            yield views, timed.position
        else:
            with views.reading() as cur:
                reached = queries.position(cur)
            yield views, reached


def refresh_as_of(services: Services, jam_id: str, at: datetime) -> Refreshed | None:
    """One refresh of `jam_id` over the log replayed to `at` (None: no idea by then)."""
    with one_replay():
        return _refresh_as_of(services, jam_id, at)


def _refresh_as_of(services: Services, jam_id: str, at: datetime) -> Refreshed | None:
    with services.views.reading() as live:
        edits_at = rv.edits_position(live)
        # Ids are names: matched to today's clusters, the past's topics keep the names (and
        # organizers' renames) organizers know, and a new one never takes a live one's id.
        live_topics = rv.stored_topics(live, jam_id)
    with replayed(services, at=at) as (views, position), views.reading() as cur:
        with services.views.reading() as live:
            edits = rv.read_edits(live, jam_id, min(position, edits_at))
        snapshot = rv.read_snapshot(cur, jam_id, position, edits=edits)
        if not snapshot.ideas:
            return None
        return services.engine.run(snapshot, live_topics)
