"""SQLite event store (the embedded default): WAL, fsync on every commit."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import Environment, EnvType
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteFactory,
)

from jam.settings import SYNCHRONOUS_MODES


class DurableConnectionPool(SQLiteConnectionPool):
    """Sets the sync level on each new connection (SQLite's setting is per connection)."""

    synchronous = "FULL"

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn._sqlite_conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return conn


class ApplicationRecorder(SQLiteApplicationRecorder):
    def position_of(self, originator_id: UUID, version: int) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid FROM {self.events_table_name} "
                "WHERE originator_id=? AND originator_version=?",
                (originator_id.hex, version),
            )
            row = c.fetchone()
            return None if row is None else int(row[0])


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
