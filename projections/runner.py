"""Following the log: catch up in large pages, then follow the subscription.

Each page of notifications is applied in one read-model transaction that also
records the position reached, so a restarted runner resumes exactly where the
last committed page ended.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, Protocol

from projections.db import Cursor, SQLiteViews, ViewDatabase
from projections.pipeline import (
    RebuildInProgress,
    feed_between,
    project_pages,
    quick_turns,
    record,
    without_cycle_collection,
)
from projections.pipeline import tracked as tracked_position
from projections.projector import TRACKING_NAME, Notice, Projector, Row, Update
from projections.schema import (
    SCHEMA_VERSION,
    clear_views,
    create_tables,
    drop_indexes,
    drop_tables,
    indexed_tables,
)
from projections.split import SplitRebuild

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
REBUILD_MARK = f"{TRACKING_NAME}:rebuilding"
# How many rebuilds have completed: a runner that finds it changed knows the read models
# were projected past its position by a rebuild, which published nothing.
REBUILT_COUNT = f"{TRACKING_NAME}:rebuilt"
REBUILD_WARNING = (
    "the read models are marked as being rebuilt: a `jam projections rebuild` is under way, "
    "or one was interrupted and must be run again; projecting waits until one completes"
)
SCHEMA_MARK = f"{TRACKING_NAME}:schema"
REBUILD_POLL_S = 0.5
# Updates published at a time when a runner publishes what others projected.
PUBLISH_PAGE = 2000
RECONNECT_S = 0.5
# A rebuild applies the log in pages this large: the fewer the pages, the fewer
# times each idea's, minute's and person's row is rewritten.
REBUILD_PAGE = 250_000
# Below this many events a rebuild runs in one process (see projections/split.py).
SPLIT_MIN = 200_000


class LogReader(Protocol):
    """What a projection needs of the event log (the application's recorder)."""

    def select_rows(
        self, start: int, limit: int, stop: int | None = None
    ) -> list[tuple[int, str, str, bytes]]: ...

    def max_notification_id(self) -> int | None: ...

    def subscribe(self, gt: int | None = None) -> Any: ...


_STOP = object()


class ProjectionRunner:
    def __init__(
        self,
        log_recorder: LogReader,
        views: ViewDatabase,
        projector: Projector,
        *,
        page_size: int = 2000,
        rebuild_page_size: int = REBUILD_PAGE,
        on_updates: Callable[[list[Update]], None] | None = None,
        split_min: int = SPLIT_MIN,
    ) -> None:
        self._log = log_recorder
        self._split_min = split_min
        self.views = views
        self._projector = projector
        self._page_size = page_size
        self._rebuild_page_size = rebuild_page_size
        self._on_updates = on_updates
        self._position_changed = threading.Condition()
        self._position = 0
        self._feed_from = 0
        self._rebuilding = False
        self._rebuilds = 0  # completed rebuilds this runner knows of (see REBUILT_COUNT)
        self._waiting = False  # for a rebuild, having said so
        self._thread: threading.Thread | None = None
        self._subscription = None
        self._stopping = threading.Event()
        self.error: BaseException | None = None
        with views.transaction() as cur:
            views.lock_projection(cur)
            create_tables(cur, indexes=False)
            found = cur.execute(
                "SELECT position FROM rm_tracking WHERE name = ?", (SCHEMA_MARK,)
            ).fetchone()
            if found is None or found[0] != SCHEMA_VERSION:
                # Read models of another shape: rebuilt from the log as the runner catches up.
                drop_tables(cur)
                create_tables(cur)
                cur.execute(
                    "INSERT INTO rm_tracking (name, position) VALUES (?, ?)",
                    (SCHEMA_MARK, SCHEMA_VERSION),
                )
            self._position = tracked_position(cur)
            marked, self._rebuilds = self._marks(cur)
            if not marked:  # else the rebuild makes them once it is done, not row by row
                create_tables(cur)

    def on_updates(self, callback: Callable[[list[Update]], None]) -> None:
        """Call `callback` with each applied page's updates (after its commit)."""
        self._on_updates = callback

    # Position
    @property
    def position(self) -> int:
        return self._position

    @property
    def waiting_for_rebuild(self) -> bool:
        """Whether this runner found the read models marked as being rebuilt, and waits."""
        return self._waiting

    def rebuild_marked(self) -> bool:
        """Whether the read models are marked as being rebuilt: a rebuild is under way,
        or one was interrupted, and no runner projects until one completes."""
        with self.views.reading() as cur:
            return self._marks(cur)[0]

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Block until the read models include `position`; False on timeout."""
        with self._position_changed:
            return (
                self._position_changed.wait_for(
                    lambda: self._position >= position or self.error is not None, timeout
                )
                and self._position >= position
            )

    # Applying pages
    def _apply(self, page: Sequence[Row]) -> None:
        last = page[-1][0]
        updates: list[Update] = []
        with self.views.transaction() as cur:
            self.views.lock_projection(cur)  # one runner at a time per read-model database
            marked, rebuilds = self._marks(cur)
            if marked and not self._rebuilding:
                self._wait_for_rebuild()
                raise RebuildInProgress("the read models are being rebuilt")
            tracked = tracked_position(cur)
            # Rebuilt since this runner last looked: what the rebuild projected past this
            # runner's position reached no live stream yet (a rebuild publishes nothing).
            missed = self._feed(cur, tracked) if rebuilds != self._rebuilds else []
            fresh = page if page[0][0] > tracked else [n for n in page if n[0] > tracked]
            if fresh:  # never apply an event twice
                try:
                    updates = self._projector.apply(
                        cur,
                        fresh,
                        after=tracked,
                        feed_from=self._feed_from,
                        publish=self._on_updates is not None,
                    )
                except BaseException:
                    self._projector.forget()
                    raise
                record(cur, last)
        self._rebuilds = rebuilds
        self._committed(max(tracked, last), updates, missed)

    def _feed(self, cur: Cursor, upto: int) -> list[Update]:
        """The feed past this runner's position up to `upto`, if it publishes."""
        return feed_between(cur, self._position, upto) if self._on_updates else []

    def _committed(
        self, position: int, updates: list[Update], missed: Sequence[Update] = ()
    ) -> None:
        """After a page's commit: the new position, and its updates published, after
        those of the positions before it that another runner applied unpublished."""
        with self._position_changed:
            self._position = max(self._position, position)
            self._position_changed.notify_all()
        if self._on_updates and (updates or missed):
            try:
                for part in [*_parts(list(missed), PUBLISH_PAGE), updates]:
                    if part:
                        self._on_updates(part)
            except Exception:  # a failed publish must not stop the projection
                log.exception("publishing read-model updates failed")

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply everything recorded so far, page by page; return the position reached."""
        total = self._log.max_notification_id() or 0
        while True:
            rows = self._log.select_rows(self._position + 1, self._page_size)
            if not rows:
                return self._position
            self._apply(rows)
            if progress:
                progress(self._position, max(total, self._position))

    @staticmethod
    def _marks(cur: Cursor) -> tuple[bool, int]:
        """Whether a rebuild is marked as under way, and how many have completed."""
        found = dict(
            cur.execute(
                "SELECT name, position FROM rm_tracking WHERE name IN (?, ?)",
                (REBUILD_MARK, REBUILT_COUNT),
            ).fetchall()
        )
        return REBUILD_MARK in found, int(found.get(REBUILT_COUNT, 0))

    def _wait_for_rebuild(self) -> None:
        """Say once that this runner waits for a rebuild (not at every look)."""
        if not self._waiting:
            self._waiting = True
            log.warning(REBUILD_WARNING, extra={"position": self._position})

    def rebuild(self, progress: Progress | None = None) -> int:
        """Empty every read model and project the whole log again.

        A mark in the tracking table makes runners in other threads or processes
        pause until the rebuild is done and then resume from its position. If a
        rebuild is interrupted, the mark stays until a rebuild completes.
        """
        self._rebuilding = True
        try:
            # Dropping the indexes locks their tables against readers; taken up front, all at
            # once, so that no reader holding one of them waits for another (a deadlock).
            with self.views.exclusive(indexed_tables()) as cur:
                clear_views(cur, TRACKING_NAME)
                cur.execute(
                    "INSERT INTO rm_tracking (name, position) VALUES (?, 0) "
                    "ON CONFLICT (name) DO NOTHING",
                    (REBUILD_MARK,),
                )
                drop_indexes(cur)
            with self._position_changed:
                self._position = 0
            # Feed rows older than the retention at the end would be dropped at once.
            end = self._log.max_notification_id() or 0
            self._feed_from = max(0, end - self._projector.feed_retention)
            with self.views.bulk_load(), without_cycle_collection(), quick_turns():
                position = self._rebuild_pages(end, progress)
            with self.views.transaction() as cur:
                create_tables(cur)  # and their indexes
                cur.execute("DELETE FROM rm_tracking WHERE name = ?", (REBUILD_MARK,))
                cur.execute(
                    "INSERT INTO rm_tracking (name, position) VALUES (?, 1) ON CONFLICT (name) "
                    "DO UPDATE SET position = rm_tracking.position + 1",
                    (REBUILT_COUNT,),
                )
                rebuilds = self._marks(cur)[1]
            self._rebuilds = rebuilds  # this runner's own: nothing for it to publish
        finally:
            self._feed_from = 0
            self._rebuilding = False
        return position

    def _rebuild_pages(self, end: int, progress: Progress | None) -> int:
        """Project the log into emptied read models: in two processes when the log
        is long enough to pay for the second one (projections/split.py), else here."""
        share = self._share(end)
        if share is None:
            read, committed = self._log.select_rows, self._committed
        else:  # the merge completes the pages, and announces nothing
            read = partial(self._log.select_rows, stop=end, share=share.rest)
            committed = _unannounced
        with share or contextlib.nullcontext():
            position = project_pages(
                read,
                self.views,
                self._projector,
                after=self._position,
                total=end,
                largest=self._rebuild_page_size,
                feed_from=self._feed_from,
                publish=share is None and self._on_updates is not None,
                committed=committed,
                progress=progress,
            )
            if share is None:
                return position
            share.merge(self.views, position, end, self._projector.feed_retention)
        # Its idea state holds this process's share of the tallies only.
        self._projector.forget()
        self._committed(end, [])
        return end

    def _share(self, end: int) -> SplitRebuild | None:
        """A second process for part of the rebuild, where the log and the read models
        are SQLite files and nothing follows this runner's updates live."""
        log_file = getattr(self._log, "log_file", None)
        if (
            end < self._split_min
            or log_file is None
            or self._on_updates is not None
            or not isinstance(self.views, SQLiteViews)
        ):
            return None
        source = log_file()
        if source is None:
            return None
        return SplitRebuild(
            source,
            self.views.path,
            end=end,
            feed_from=self._feed_from,
            feed_retention=self._projector.feed_retention,
            largest=self._rebuild_page_size,
        )

    # Following
    def start(self) -> None:
        """Catch up, then follow new events in a background thread."""
        lost = waiting = False
        try:
            self.catch_up()
        except RebuildInProgress:
            waiting = True  # the follower waits for it, then catches up
        except _unreachable() as exc:
            # The store went away while this process started (a database restart): serve
            # anyway, as a running process would, and let the follower catch up once it is
            # back. Failing here would make a multi-worker server stop every worker.
            self._projector.forget()
            log.warning("the projection lost its store while starting, retrying: %s", exc)
            lost = True
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._follow, args=(lost, waiting), name="projection", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._subscription is not None:
            self._subscription.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _follow(self, resumed: bool = False, waiting: bool = False) -> None:
        while True:
            try:
                if waiting:  # at once, not at the next event: the rebuild may be all there is
                    self._after_rebuild()
                    waiting = False
                self._follow_subscription(resumed)
                return
            except _unreachable() as exc:
                # The store went away (a database restart): nothing past the last
                # committed page was recorded, so subscribe again from there once it is back.
                self._projector.forget()
                if self._stopping.is_set():
                    return
                log.warning("the projection lost its store, retrying: %s", exc)
                resumed = True
                if self._stopping.wait(RECONNECT_S):
                    return
            except BaseException as exc:
                self.error = exc
                log.exception("the projection stopped")
                with self._position_changed:
                    self._position_changed.notify_all()
                return

    def _publish_unannounced(self) -> None:
        """Publish pages the read models hold but this runner never announced.

        After a lost connection, a page's commit may have succeeded without the runner
        hearing so (or another runner applied it meanwhile): its updates were not
        published, and clients following live would never see them.
        """
        with self.views.reading() as cur:
            tracked = tracked_position(cur)
            updates = feed_between(cur, self._position, tracked)
        with self._position_changed:
            self._position = max(self._position, tracked)
            self._position_changed.notify_all()
        if self._on_updates and updates:
            self._on_updates(updates)

    def _follow_subscription(self, resumed: bool = False) -> None:
        if resumed:
            self._publish_unannounced()
        inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        with self._log.subscribe(gt=self._position) as subscription:
            self._subscription = subscription
            feeder = threading.Thread(target=_feed, args=(subscription, inbox), daemon=True)
            feeder.start()
            while not self._stopping.is_set():
                first = inbox.get()
                if first is _STOP:
                    break
                if isinstance(first, BaseException):
                    raise first
                page = [first]
                failed: BaseException | None = None
                while len(page) < self._page_size:
                    try:
                        item = inbox.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        self._stopping.set()
                        break
                    if isinstance(item, BaseException):
                        failed = item
                        break
                    page.append(item)
                fresh = [
                    Notice(n.id, str(n.originator_id), n.topic, n.state)  # type: ignore[attr-defined]
                    for n in page
                    if n.id > self._position  # type: ignore[attr-defined]
                ]
                if fresh:
                    try:
                        self._apply(fresh)
                    except RebuildInProgress:
                        self._after_rebuild()
                if failed is not None:
                    raise failed

    def _after_rebuild(self) -> None:
        """Wait for another runner's rebuild, then carry on from where it got to.

        The rebuild published nothing: what it projected past this runner's position
        is published from the feed first, or clients following live would never hear
        of those writes (later updates move their streams past them).
        """
        while not self._stopping.is_set():
            with self.views.reading() as cur:
                marked, rebuilds = self._marks(cur)
                if not marked:
                    tracked = tracked_position(cur)
                    missed = self._feed(cur, tracked)
            if not marked:
                self._projector.forget()
                with self._position_changed:
                    self._position = tracked
                self._rebuilds = rebuilds
                self._committed(tracked, [], missed)
                try:
                    self.catch_up()
                except RebuildInProgress:
                    continue
                if self._waiting:
                    self._waiting = False
                    log.info(
                        "the read models were rebuilt; projecting",
                        extra={"position": self._position},
                    )
                return
            self._wait_for_rebuild()
            self._stopping.wait(REBUILD_POLL_S)


def _unannounced(position: int, updates: list[Update]) -> None:
    """A split rebuild's pages are complete only once merged (see `_rebuild_pages`)."""


def _parts(updates: list[Update], size: int) -> Iterator[list[Update]]:
    """`updates` in parts of about `size`, each ending where a log position does (a
    publisher records the last position it sent as sent whole)."""
    start = 0
    while start < len(updates):
        end = min(start + size, len(updates))
        while end < len(updates) and updates[end].position == updates[end - 1].position:
            end += 1
        yield updates[start:end]
        start = end


def _feed(subscription: object, inbox: queue.SimpleQueue[object]) -> None:
    try:
        for notification in subscription:  # type: ignore[attr-defined]
            inbox.put(notification)
    except Exception as exc:  # raised again by the runner's thread, which decides
        inbox.put(exc)
    finally:
        inbox.put(_STOP)


def _unreachable() -> tuple[type[BaseException], ...]:
    """The errors of a store that cannot be reached for now (the log's or the views')."""
    import sqlite3

    import psycopg
    from eventsourcing.persistence import InterfaceError, OperationalError

    return (
        InterfaceError,
        OperationalError,
        psycopg.OperationalError,  # includes the pool's timeouts
        psycopg.InterfaceError,
        sqlite3.OperationalError,
    )
