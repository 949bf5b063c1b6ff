"""A web reader's transaction on the real PostgreSQL, for tests of what a rebuild locks.

A reader keeps every table it has read locked (ACCESS SHARE) to the end of its
transaction, and reads tables one after another, in the order of its queries.
"""

from __future__ import annotations

import threading
import time

import psycopg

WAIT_S = 20.0


def reading(url: str, schema: str, table: str) -> psycopg.Connection:
    """A connection in the middle of a read-only transaction that has read `table`."""
    conn = psycopg.connect(url, options=f"-c search_path={schema}")
    # Bounded, so that a test of a deadlock never hangs on one.
    conn.execute("SET statement_timeout = '30s'")
    conn.commit()
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
    conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return conn


def waiting_for(url: str, schema: str, table: str) -> None:
    """Wait until some transaction waits for a lock on `schema.table` (the server's
    lock table is the only place to see it)."""
    deadline = time.monotonic() + WAIT_S
    with psycopg.connect(url, autocommit=True) as conn:
        while not conn.execute(
            "SELECT 1 FROM pg_locks l JOIN pg_class t ON t.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE NOT l.granted AND n.nspname = %s AND t.relname = %s",
            (schema, table),
        ).fetchone():
            assert time.monotonic() < deadline, f"nothing waited for {table}"
            time.sleep(0.01)


class Reader(threading.Thread):
    """Has read `first`; once something waits for it, reads `then` and ends its
    transaction. `rows` is what its second read counted, `error` what it raised."""

    def __init__(self, url: str, schema: str, first: str, then: str) -> None:
        super().__init__(daemon=True)
        self._url, self._schema, self._first, self._then = url, schema, first, then
        self._conn = reading(url, schema, first)
        self.rows: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            waiting_for(self._url, self._schema, self._first)
            self.rows = self._conn.execute(f"SELECT count(*) FROM {self._then}").fetchone()[0]
        except BaseException as exc:  # what the test asserts about
            self.error = exc
        finally:
            self._conn.rollback()
            self._conn.close()
