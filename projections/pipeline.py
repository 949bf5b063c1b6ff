"""A rebuild's pipeline: one thread writes a page while the next is gathered.

Writing a page (SQLite or PostgreSQL working through the rows) and gathering the
next (decoding payloads, summing in Python) take about as long as each other, and
the database does its part without holding Python's interpreter lock, so on two
cores the two overlap. Pages are still written one transaction each, in order,
with their tracking position.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

from projections.db import Cursor, ViewDatabase
from projections.db import Row as DbRow
from projections.projector import Row, Statement, Update, run

Record = Callable[[Cursor, int, int], None]  # (cursor, position followed, position reached)
Committed = Callable[[int, list[Update]], None]
_DONE = None
_Page = tuple[list[Statement], int, int, list[Update]]


class PageWriter:
    """Writes pages handed over by `submit` in a thread of its own, in order."""

    def __init__(self, views: ViewDatabase, record: Record, committed: Committed) -> None:
        self._views = views
        self._record = record
        self._committed = committed
        # One page queued while one is written: memory stays bounded.
        self._pages: queue.Queue[_Page | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="projection-writer", daemon=True)
        self._thread.start()

    def submit(
        self, writes: list[Statement], after: int, position: int, updates: list[Update]
    ) -> None:
        """Write a page that follows position `after` and reaches `position`."""
        self._raise()
        self._pages.put((writes, after, position, updates))

    def drain(self) -> None:
        """Wait until every page handed over is committed."""
        self._pages.join()
        self._raise()

    def close(self) -> None:
        self._pages.put(_DONE)
        self._thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _write(self) -> None:
        with self._views.bulk_load():  # its settings are per connection, so per thread
            while True:
                page = self._pages.get()
                try:
                    if page is _DONE:
                        return
                    if self.error is None:  # after a failure, pages are dropped unwritten
                        writes, after, position, updates = page
                        with self._views.transaction() as cur:
                            self._views.lock_projection(cur)
                            run(cur, writes)
                            self._record(cur, after, position)
                        self._committed(position, updates)
                except BaseException as exc:
                    self.error = exc
                finally:
                    self._pages.task_done()


class OnDemandCursor:
    """A cursor whose transaction opens when it is first used, after `writer` drains.

    The pages gathered before have then been committed, so whatever it reads is
    current; the page being gathered is then written in that transaction.
    """

    def __init__(self, views: ViewDatabase, writer: PageWriter, stack: ExitStack) -> None:
        self._views = views
        self._writer = writer
        self._stack = stack
        self.opened: Cursor | None = None

    def _cursor(self) -> Cursor:
        if self.opened is None:
            self._writer.drain()
            cur = self._stack.enter_context(self._views.transaction())
            self._views.lock_projection(cur)
            self.opened = cur
        return self.opened

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._cursor().execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor().executemany(sql, rows)

    def fetchall(self) -> list[DbRow]:
        return self._cursor().fetchall()

    def fetchone(self) -> DbRow | None:
        return self._cursor().fetchone()

    def __iter__(self) -> Iterator[DbRow]:
        return iter(self._cursor())


def runs(rows: Sequence[Row], at_once: Collection[str], min_run: int) -> list[Sequence[Row]]:
    """Cut a page so that stretches of at least `min_run` events that never write at
    once stand alone: a rarer event then holds up only the few events around it
    (applied while the writer waits), not the whole page."""
    marks = [i for i, row in enumerate(rows) if row[2] in at_once]
    if not marks:
        return [rows]
    cut: list[Sequence[Row]] = []
    start = gap = 0  # the pending stretch begins at `start`; the current gap at `gap`
    for i in [*marks, len(rows)]:
        if i - gap >= min_run:
            if gap > start:
                cut.append(rows[start:gap])
            cut.append(rows[gap:i])
            start = i
        gap = i + 1
    if start < len(rows):
        cut.append(rows[start:])
    return cut
