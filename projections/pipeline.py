"""A rebuild's pipeline: one thread writes a page while the next is gathered.

Writing a page (SQLite or PostgreSQL working through the rows) and gathering the
next (decoding payloads, summing in Python) take about as long as each other, and
the database does its part without holding Python's interpreter lock, so on two
cores the two overlap. Pages are still written one transaction each, in order,
with their tracking position.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

from projections.db import Cursor, ViewDatabase
from projections.db import Row as DbRow
from projections.projector import TRACKING_NAME, Projector, Row, Statement, Update, run

# Near the end of the log a rebuild's pages shrink, down to this part of the largest
# (see `page_size`).
REBUILD_LAST_PAGE_PART = 25
# Stretches of a rebuild's page this long without a rarer event are written by a
# second thread while the next stretch is gathered.
PIPELINED_RUN_MIN = 10_000
REBUILD_SWITCH_S = 0.0002  # the interpreter's switch interval during a rebuild

Record = Callable[[Cursor, int, int], None]  # (cursor, position followed, position reached)
Committed = Callable[[int, list[Update]], None]
_DONE = None
_Page = tuple[list[Statement], int, int, list[Update]]
Progress = Callable[[int, int], None]
ReadRows = Callable[[int, int], list[Row]]  # (start, limit) -> rows of the log


def project_pages(
    read: ReadRows,
    views: ViewDatabase,
    projector: Projector,
    *,
    after: int,
    total: int,
    largest: int,
    feed_from: int,
    publish: bool,
    committed: Committed,
    progress: Progress | None = None,
    first: list[Statement] | None = None,
) -> int:
    """Project the log from `after` into emptied read models, a page written while
    the next is gathered; return the position of the last event read.

    Each page's transaction checks that the tracked position is still the one
    the page follows (another rebuild at the same time fails rather than apply
    anything twice). A page that has to read the read models (a rarer event, or
    state not held in memory) waits for the writer and is then applied in a
    transaction of its own. `first` is written before the first page.
    """
    writer = PageWriter(views, advance, committed)
    position = after
    try:
        if first:
            writer.submit(first, after, after, [])
        at_once = projector.topics_written_at_once
        while rows := read(position + 1, page_size(total - position, largest)):
            for run_ in runs(rows, at_once, PIPELINED_RUN_MIN):
                _project_run(views, projector, writer, run_, position, feed_from, publish)
                position = run_[-1][0]
            if progress:
                progress(position, max(total, position))
        writer.drain()
    except BaseException:
        projector.forget()
        raise
    finally:
        writer.close()
    return position


def _project_run(
    views: ViewDatabase,
    projector: Projector,
    writer: PageWriter,
    rows: Sequence[Row],
    after: int,
    feed_from: int,
    publish: bool,
) -> None:
    """Gather `rows` and hand them to the writer, or, if they needed the read
    models, apply them here in the transaction that read them."""
    last = rows[-1][0]
    with ExitStack() as stack:
        cur = OnDemandCursor(views, writer, stack)
        writes, updates = projector.prepare(
            cur, rows, after=after, feed_from=feed_from, publish=publish
        )
        if cur.opened is None:
            writer.submit(writes, after, last, updates)
            return
        run(cur.opened, writes)
        advance(cur.opened, after, last)
    writer.committed(last, updates)


def page_size(remaining: int, largest: int) -> int:
    """The size of a rebuild's next page: the largest until half of what is left is
    less, then half of what is left, down to a small part of the largest.

    The writer thread writes the last page after everything else is done; a last
    page as large as the others would leave the rest of the rebuild waiting that long.
    """
    return max(1, largest // REBUILD_LAST_PAGE_PART, min(largest, remaining // 2))


def tracked(cur: Cursor) -> int:
    row = cur.execute(
        "SELECT position FROM rm_tracking WHERE name = ?", (TRACKING_NAME,)
    ).fetchone()
    return int(row[0]) if row else 0


def feed_between(cur: Cursor, after: int, upto: int) -> list[Update]:
    """The read models' feed of updates for log positions in (after, upto], in order."""
    if upto <= after:
        return []
    rows = cur.execute(
        "SELECT position, jam_id, kind, item_id, idea_id FROM rm_updates "
        "WHERE position > ? AND position <= ? ORDER BY position, item_id, jam_id",
        (after, upto),
    ).fetchall()
    return [Update(*row) for row in rows]


def record(cur: Cursor, position: int) -> None:
    cur.execute(
        "INSERT INTO rm_tracking (name, position) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        (TRACKING_NAME, position),
    )


class RebuildInProgress(RuntimeError):
    """Another runner is rebuilding these read models; others wait for it to finish."""


def advance(cur: Cursor, after: int, position: int) -> None:
    """Record a rebuild's page, which must follow the position tracked so far."""
    found = tracked(cur)
    if found != after:
        msg = f"the read models moved from {after} to {found} during the rebuild"
        raise RebuildInProgress(msg)
    record(cur, position)


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

    def committed(self, position: int, updates: list[Update]) -> None:
        """A page applied outside the writer (after it drained) is committed."""
        self._committed(position, updates)

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


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """A rebuild makes millions of short-lived objects that form no cycles; the cycle
    collector's passes over the page held in memory would cost a fifth of its time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def quick_turns() -> Iterator[None]:
    """Shorter turns of the interpreter lock during a rebuild.

    The writer thread takes the lock back after each statement, and by default waits
    up to 5 ms for the gathering thread to let go: at 0.2 ms its pages were written in
    a fifth less time and the rebuild ran 6-10% faster (docs/benchmarks.md, section 3).
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, REBUILD_SWITCH_S))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
