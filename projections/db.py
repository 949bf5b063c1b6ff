"""The read-model database: SQLite in the embedded default, PostgreSQL in production.

One small interface over both, so each projection writes portable SQL once:
statements use `?` placeholders (rewritten to `%s` for psycopg), and upserts use
`INSERT ... ON CONFLICT`, which both understand. Ids are stored as text.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

Row = tuple[Any, ...]
PROJECTION_LOCK = 0x6F6A_7669_6577  # "ojview": the advisory lock key of the projection
# Locking tables against readers (PostgresViews.exclusive): each try waits at most this
# long (or half the server's deadlock_timeout), then pauses; given up after the last.
LOCK_TRY_MS = 500
LOCK_PAUSE_S = 0.2
LOCK_GIVE_UP_S = 60.0
# A read's second try, on a fresh connection, waits at most this long for one.
RECONNECT_WAIT_S = 5.0


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def fetchall(self) -> list[Row]: ...

    def fetchone(self) -> Row | None: ...

    def __iter__(self) -> Iterator[Row]: ...  # the rows of the last query, as they come


class ViewDatabase(Protocol):
    kind: str

    @contextmanager
    def transaction(self) -> Iterator[Cursor]: ...

    @contextmanager
    def reading(self) -> Iterator[Cursor]: ...

    def lock_projection(self, cur: Cursor) -> None: ...

    @contextmanager
    def exclusive(self, tables: Sequence[str]) -> Iterator[Cursor]: ...

    def bulk_load(self) -> Any: ...

    def close(self) -> None: ...


# An INSERT of one row of placeholders: (head, the row, what follows, e.g. ON CONFLICT).
_ONE_ROW_INSERT = re.compile(r"(INSERT INTO \w+ \([^)]*\) VALUES )(\(\?(?:, \?)*\))(.*)", re.S)
# Bound values per statement: about a thousand cost the least per row (a quarter
# less than one row at a time; at 32,766 the database's work per row grows again),
# within the database's own limit.
MULTI_ROW_VALUES = 999


class MultiRowCursor(sqlite3.Cursor):
    """A cursor whose `executemany` of an INSERT sends many rows per statement.

    `executemany` takes Python's interpreter lock back after every row, and while a
    rebuild gathers the next page in another thread, each handover waits for that
    thread to let go: a page's inserts took several times their CPU time. With many
    rows per statement the database writes hundreds in one step, without the lock,
    and the values bound are the same, so the rows are too. Rows are inserted in
    order, so an upsert sees the rows before it in the same statement. (An UPDATE
    by key as `UPDATE ... FROM (VALUES ...)` cost the database more than it saved.)
    """

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> MultiRowCursor:  # type: ignore[override]
        found = _ONE_ROW_INSERT.fullmatch(sql)
        if found is None or len(rows) < 2:
            super().executemany(sql, rows)
            return self
        head, one, tail = found.groups()
        if not self._many(rows, one.count("?"), lambda n: f"{head}{', '.join([one] * n)}{tail}"):
            super().executemany(sql, rows)  # which says which row is wrong
        return self

    def _many(self, rows: Sequence[Sequence[Any]], width: int, sql: Callable[[int], str]) -> bool:
        """Run `sql(n)` (a statement of `n` rows of `width` values) over `rows`, as many
        rows at a time as the limit on bound values allows; False for malformed rows."""
        if set(map(len, rows)) != {width}:
            return False
        limit = self.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(MULTI_ROW_VALUES, limit) // width)
        full = sql(per)
        whole = len(rows) - len(rows) % per
        for start in range(0, whole, per):
            self.execute(full, list(chain.from_iterable(rows[start : start + per])))
        if whole < len(rows):
            rest = rows[whole:]
            self.execute(sql(len(rest)), list(chain.from_iterable(rest)))
        return True


class SQLiteViews:
    """One connection per thread; WAL lets readers run beside the projection's writes."""

    kind = "sqlite"

    def __init__(self, path: Path, *, scratch: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # A scratch database (a rebuild's share, merged and deleted) keeps no journal:
        # after a failure it is thrown away, not rolled back.
        self._journal = "OFF" if scratch else "WAL"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            conn.execute(f"PRAGMA journal_mode={self._journal}")
            conn.execute("PRAGMA synchronous=NORMAL")  # read models can always be rebuilt
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        conn = self._conn()
        cur = conn.cursor(MultiRowCursor)
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur  # type: ignore[misc]
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cur.close()

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        conn = self._conn()
        cur = conn.cursor()
        cur.execute("BEGIN")  # one snapshot for all the queries of a read
        try:
            yield cur  # type: ignore[misc]
        finally:
            conn.rollback()
            cur.close()

    def lock_projection(self, cur: Cursor) -> None:
        """BEGIN IMMEDIATE already holds the database's single write lock."""

    @contextmanager
    def exclusive(self, tables: Sequence[str]) -> Iterator[Cursor]:
        """A transaction holding the projection lock: the write lock is the only lock,
        and readers of a WAL database never wait for it."""
        with self.transaction() as cur:
            yield cur

    @contextmanager
    def attached(self, path: Path, alias: str) -> Iterator[None]:
        """Another database file readable as `alias` by this thread's connection."""
        conn = self._conn()
        conn.execute("ATTACH DATABASE ? AS " + alias, (str(path),))
        try:
            yield
        finally:
            conn.execute("DETACH DATABASE " + alias)

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """For a rebuild: no fsync while loading (a crash means rebuilding again)."""
        conn = self._conn()
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        try:
            yield
        finally:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-2000")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


class _PgCursor:
    """Adapts psycopg's cursor to `?` placeholders."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _PgCursor:
        self._cur.execute(sql.replace("?", "%s"), params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cur.executemany(sql.replace("?", "%s"), rows)

    def fetchall(self) -> list[Row]:
        return self._cur.fetchall()

    def fetchone(self) -> Row | None:
        return self._cur.fetchone()

    def __iter__(self) -> Iterator[Row]:
        return iter(self._cur)


class PostgresViews:
    kind = "postgres"

    def __init__(self, url: str, schema: str = "") -> None:
        from psycopg_pool import ConnectionPool

        self.schema = schema or "public"
        options = f"-c search_path={self.schema}"
        self._pool = ConnectionPool(
            url, min_size=1, max_size=8, kwargs={"options": options}, open=True
        )

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _PgCursor(cur)

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        """A read-only snapshot.

        A pooled connection the server has closed since it was last used (a restart,
        `pg_terminate_backend`) fails as the read begins, before anything was read:
        the read begins again on a fresh connection, once, after the pool has dropped
        every connection the server closed, so readers never see it.
        """
        import psycopg

        for last_try in (False, True):
            conn = None
            begun = False
            try:
                with (
                    self._pool.connection(timeout=RECONNECT_WAIT_S if last_try else None) as conn,
                    conn.transaction(),
                    conn.cursor() as cur,
                ):
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    begun = True
                    yield _PgCursor(cur)
                return
            except psycopg.OperationalError:
                if begun or last_try or conn is None or not conn.broken:
                    raise
            self._pool.check()  # the server most likely closed the others too

    @contextmanager
    def exclusive(self, tables: Sequence[str]) -> Iterator[Cursor]:
        """A transaction holding the projection lock and `tables` locked against every
        other use (ACCESS EXCLUSIVE), all taken before anything else is done.

        Readers lock the tables they read one after another and keep them to the end
        of their transaction. Locking tables exclusively one at a time (DROP INDEX
        does) can wait for a reader that waits for a table already locked: a deadlock,
        which the server settles by failing one of the two. Here they are asked for in
        one statement that waits at most half the server's deadlock_timeout, so it gives
        up before the server would look for a deadlock; the readers then go on, and it
        is tried again a moment later, for up to LOCK_GIVE_UP_S.
        """
        from psycopg.errors import LockNotAvailable

        deadline = time.monotonic() + LOCK_GIVE_UP_S
        while True:
            locked = False
            try:
                with self.transaction() as cur:
                    self.lock_projection(cur)
                    before, deadlock_ms = cur.execute(
                        "SELECT current_setting('lock_timeout'), (EXTRACT(epoch FROM "
                        "current_setting('deadlock_timeout')::interval) * 1000)::int"
                    ).fetchone()  # type: ignore[misc]
                    wait_ms = max(1, min(LOCK_TRY_MS, deadlock_ms // 2))
                    cur.execute("SELECT set_config('lock_timeout', ?, true)", (f"{wait_ms}ms",))
                    cur.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
                    cur.execute("SELECT set_config('lock_timeout', ?, true)", (before,))
                    locked = True
                    yield cur
                return
            except LockNotAvailable:
                if locked or time.monotonic() > deadline:
                    raise
            time.sleep(LOCK_PAUSE_S)

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        yield

    def lock_projection(self, cur: Cursor) -> None:
        # Runners in several processes may follow the same log; the lock makes
        # them take turns, so each reads the position the previous one committed.
        cur.execute("SELECT pg_advisory_xact_lock(?)", (PROJECTION_LOCK,))

    def close(self) -> None:
        self._pool.close()


def open_views(database_url: str | None, schema: str, data_dir: Path) -> ViewDatabase:
    """PostgreSQL when a URL is given (same database as the log), else SQLite beside it."""
    if database_url:
        return PostgresViews(database_url, schema)
    return SQLiteViews(data_dir / "views.sqlite3")
