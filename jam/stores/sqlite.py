"""SQLite event store (the embedded default): WAL, fsync on every commit."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder as LibraryApplicationRecorder,
)
from eventsourcing.persistence import (
    Environment,
    EnvType,
    ListenNotifySubscription,
    StoredEvent,
    Subscription,
)
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteFactory,
)

from jam.settings import SYNCHRONOUS_MODES
from jam.transcoder import MsgpackTranscoder, uuid_text

T = TypeVar("T")


class DurableConnectionPool(SQLiteConnectionPool):
    """Sets the sync level on each new connection (SQLite's setting is per connection)."""

    synchronous = "FULL"

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn._sqlite_conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return conn


POLL_INTERVAL_S = 0.1
INSERT_ROWS_MAX = 256  # rows in one INSERT statement (4 parameters each)


def _chunk_sizes(n: int) -> list[int]:
    """`n` as a sum of powers of two, largest first, none above INSERT_ROWS_MAX: at most
    nine distinct statements for SQLite to keep prepared, and few executions per batch."""
    sizes = [INSERT_ROWS_MAX] * (n // INSERT_ROWS_MAX)
    rest = n % INSERT_ROWS_MAX
    bit = INSERT_ROWS_MAX
    while rest:
        bit //= 2
        if rest >= bit:
            sizes.append(bit)
            rest -= bit
    return sizes


class SQLiteSubscription(ListenNotifySubscription["ApplicationRecorder"]):
    """Follows an SQLite log: the library's SQLite recorder has no subscription.

    The recorder wakes its subscriptions after each commit made in this process;
    commits made by other processes are found by polling every POLL_INTERVAL_S.
    """

    def __init__(
        self, recorder: ApplicationRecorder, gt: int | None = None, topics: Sequence[str] = ()
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._stopped = threading.Event()
        self._poll_thread = threading.Thread(target=self._poll, name="sqlite-poll", daemon=True)
        self._poll_thread.start()

    def wake(self) -> None:
        self._has_been_notified.set()

    def stop(self) -> None:
        self._stopped.set()
        super().stop()

    def _poll(self) -> None:
        while not self._stopped.wait(POLL_INTERVAL_S):
            self._has_been_notified.set()


class ApplicationRecorder(SQLiteApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._subscriptions: weakref.WeakSet[SQLiteSubscription] = weakref.WeakSet()
        self._insert_statements: dict[int, str] = {}

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        """A batch's events in a few multi-row INSERTs instead of one INSERT each.

        Each statement execution lets go of the interpreter lock, and under load a thread
        waits up to a switch interval to get it back: per event, that was most of a
        group commit's time. Inside the write transaction SQLite numbers the rows of one
        statement max(rowid) + 1, + 2, ... so the last row's id gives them all.
        """
        ids: list[int] = []
        start = 0
        for size in _chunk_sizes(len(stored_events)):
            params: list[Any] = []
            for s in stored_events[start : start + size]:
                originator = s.originator_id
                params += (
                    originator.hex if isinstance(originator, UUID) else originator,
                    s.originator_version,
                    s.topic,
                    s.state,
                )
            c.execute(self._insert_statement(size), params)
            last = c.lastrowid
            assert last is not None
            ids.extend(range(last - size + 1, last + 1))
            start += size
        return ids

    def _insert_statement(self, rows: int) -> str:
        statement = self._insert_statements.get(rows)
        if statement is None:
            head = self.insert_events_statement.split(" VALUES ")[0]
            statement = head + " VALUES " + ",".join(["(?,?,?,?)"] * rows)
            self._insert_statements[rows] = statement
        return statement

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super().insert_events(stored_events, **kwargs)
        for subscription in list(self._subscriptions):
            subscription.wake()
        return ids

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[LibraryApplicationRecorder]:
        subscription = SQLiteSubscription(self, gt=gt, topics=topics)
        self._subscriptions.add(subscription)
        return subscription  # type: ignore[return-value]

    def select_rows(
        self, start: int, limit: int, stop: int | None = None, share: Share | None = None
    ) -> list[tuple[int, str, str, bytes]]:
        """(position, originator id as text, topic, state) from `start` on: a lean
        read of the log for projections, which need no Notification objects."""
        statement, params = rows_query(self.events_table_name, start, limit, stop, share)
        return [
            (row[0], uuid_text(row[1]), row[2], row[3]) for row in self._read(statement, params)
        ]

    def log_file(self) -> LogFile | None:
        """The log's file, for a reader in another process (None when held in memory)."""
        pool = self.datastore.pool
        if pool.is_sqlite_memory_mode:
            return None
        return LogFile(str(pool.db_name), self.events_table_name)

    def _read(self, statement: str, params: Sequence[Any]) -> list[Any]:
        """One SELECT, in SQLite's own read transaction for that statement: without
        BEGIN and COMMIT around it, two fewer calls that let go of the interpreter lock."""
        with self.datastore.get_connection(commit=False) as conn:
            return conn._sqlite_conn.execute(statement, params).fetchall()

    def max_notification_id(self) -> int | None:
        return self._read(self.select_max_notification_id_statement, ())[0][0]

    def max_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The current version of each aggregate that exists (one query per 500 ids)."""
        found: dict[UUID, int] = {}
        ids = list(originator_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._read(
                f"SELECT originator_id, MAX(originator_version) FROM {self.events_table_name} "
                f"WHERE originator_id IN ({marks}) GROUP BY originator_id",
                [i.hex for i in chunk],
            )
            found.update((UUID(row[0]), row[1]) for row in rows)
        return found

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        rows = self._read(
            f"SELECT rowid FROM {self.events_table_name} "
            "WHERE originator_id=? AND originator_version=?",
            (originator_id.hex, version),
        )
        return int(rows[0][0]) if rows else None


class Share(Protocol):
    """Part of the log: the events of `topics` whose aggregate id sorts below `below`
    (when `taken`), or every other event (when not)."""

    topics: tuple[str, ...]
    below: str
    taken: bool


def rows_query(
    table: str, start: int, limit: int, stop: int | None, share: Share | None
) -> tuple[str, list[Any]]:
    """The SELECT of `select_rows`. A share is picked by SQLite, so the rows of the
    other share are never turned into Python objects."""
    statement = f"SELECT rowid, originator_id, topic, state FROM {table} WHERE rowid >= ? "
    params: list[Any] = [start]
    if stop is not None:
        statement += "AND rowid <= ? "
        params.append(stop)
    if share is not None:
        marks = ", ".join("?" * len(share.topics))
        picked = f"(topic IN ({marks}) AND originator_id < ?)"
        statement += f"AND {picked if share.taken else f'NOT {picked}'} "
        params += [*share.topics, share.below]
    statement += "ORDER BY rowid LIMIT ?"
    params.append(limit)
    return statement, params


@dataclass(frozen=True)
class LogFile:
    """An SQLite log read from another process, without the library (a rebuild's
    second process reads its share of the log through this)."""

    path: str
    table: str

    def open(self) -> LogFileReader:
        return LogFileReader(self)

    @staticmethod
    def views_decoder(type_: type[T]) -> Callable[[bytes], T]:
        """Payload decoding for views, as the application's transcoder does it."""
        return MsgpackTranscoder().views_decoder(type_)


class LogFileReader:
    def __init__(self, log: LogFile) -> None:
        self._log = log
        self._conn = sqlite3.connect(log.path, check_same_thread=False)

    def select_rows(
        self, start: int, limit: int, stop: int | None = None, share: Share | None = None
    ) -> list[tuple[int, str, str, bytes]]:
        statement, params = rows_query(self._log.table, start, limit, stop, share)
        rows = self._conn.execute(statement, params).fetchall()
        return [(row[0], uuid_text(row[1]), row[2], row[3]) for row in rows]

    def of_topic(self, topic: str, stop: int) -> list[tuple[int, str, bytes]]:
        """(position, originator id as text, state) of every event of `topic` up to `stop`."""
        rows = self._conn.execute(
            f"SELECT rowid, originator_id, state FROM {self._log.table} "
            "WHERE topic = ? AND rowid <= ? ORDER BY rowid",
            (topic, stop),
        ).fetchall()
        return [(row[0], uuid_text(row[1]), row[2]) for row in rows]

    def max_notification_id(self) -> int | None:
        return self._conn.execute(f"SELECT MAX(rowid) FROM {self._log.table}").fetchone()[0]

    def close(self) -> None:
        self._conn.close()


class Factory(SQLiteFactory):
    SQLITE_SYNCHRONOUS = "SQLITE_SYNCHRONOUS"
    application_recorder_class = ApplicationRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        mode = (self.env.get(self.SQLITE_SYNCHRONOUS) or "FULL").upper()
        if mode not in SYNCHRONOUS_MODES:
            msg = f"SQLite synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, not {mode!r}"
            raise OSError(msg)
        pool = self.datastore.pool
        # The library builds its own pool; swap in ours before any connection exists.
        durable = DurableConnectionPool(db_name=pool.db_name, lock_timeout=pool.lock_timeout)
        durable.synchronous = mode
        pool.close()
        self.datastore.pool = durable
