"""PostgreSQL event store (production)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, Subscription
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresSubscription,
)
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from jam.settings import postgres_env


def _one_retry(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method` with one retry (the library's methods retry ten times).

    The library retries ten times with pauses, so a server that is down holds each
    writer for about ten seconds before it hears so. One retry is enough for what a
    retry can mend (pooled connections the server closed);
    a server that is down is reported at once, and clients retry with their keys.
    """
    once: Callable[..., Any] = getattr(method, "__wrapped__", method)

    @wraps(once)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return once(self, *args, **kwargs)
        except (InterfaceError, OperationalError):
            # After a server restart every idle pooled connection is dead, not just
            # this one: drop them all, so the retry gets a live one if the server is up.
            self.datastore.pool.check()
            return once(self, *args, **kwargs)

    return call


class ListeningSubscription(PostgresSubscription):
    """The library's subscription, without a window in which a write goes unheard.

    The library reads what is recorded while, in another thread, it starts to LISTEN:
    an event committed after that read but before the LISTEN took effect was neither
    read nor notified, and waited for the next write (a follower that had caught up
    sat on it). Reading once more as soon as the LISTEN is in place closes the window.
    """

    def _listen(self) -> None:
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name)))
                self._has_been_notified.set()  # what was committed before the LISTEN
                while not self._has_been_stopped and not self._thread_error:
                    # Wait at most 0.1 s, so that a stop is seen without a notification.
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        self._has_been_notified.set()
        except BaseException as e:
            if self._thread_error is None:
                self._thread_error = e
            self.stop()


# Advisory lock key under which processes create the event store's tables in turn.
SCHEMA_LOCK = 0x6F6A_6C6F_6773  # "ojlogs"


class ApplicationRecorder(PostgresApplicationRecorder):
    def create_table(self) -> None:
        # Workers starting together create the same tables, types and functions at
        # once, which PostgreSQL refuses ("tuple concurrently updated"): take turns.
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    insert_events = _one_retry(PostgresApplicationRecorder.insert_events)
    select_events = _one_retry(PostgresApplicationRecorder.select_events)
    select_notifications = _one_retry(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _one_retry(PostgresApplicationRecorder.max_notification_id)

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> Subscription[Any]:
        return ListeningSubscription(recorder=self, gt=gt, topics=topics)

    @_one_retry
    def select_rows(
        self, start: int, limit: int, stop: int | None = None
    ) -> list[tuple[int, str, str, bytes]]:
        """(position, originator id as text, topic, state) from `start` on: a lean
        read of the log for projections, which need no Notification objects."""
        statement = SQL(
            "SELECT notification_id, originator_id::text, topic, state FROM {schema}.{table} "
            "WHERE notification_id >= %s AND notification_id <= %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        upper = stop if stop is not None else 2**62
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, (start, upper, limit), prepare=True)
            return [(r[0], r[1], r[2], bytes(r[3])) for r in curs.fetchall()]

    @_one_retry
    def max_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The current version of each aggregate that exists, in one query."""
        statement = SQL(
            "SELECT originator_id, MAX(originator_version) FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, (list(originator_ids),), prepare=True)
            return {row[0]: row[1] for row in curs.fetchall()}

    @_one_retry
    def position_of(self, originator_id: UUID, version: int) -> int | None:
        statement = SQL(
            "SELECT notification_id FROM {schema}.{table} "
            "WHERE originator_id=%s AND originator_version=%s"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (originator_id, version))
            row = curs.fetchone()
            return None if row is None else int(row["notification_id"])


# The longest a command waits for a pooled connection. The library waits as long as its
# connect timeout (5 s); connections are rarely all busy (one committer thread writes),
# so a longer wait means the server is down, and the client is better told so at once.
POOL_WAIT_S = 1.0


class Factory(PostgresFactory):
    application_recorder_class = ApplicationRecorder

    def application_recorder(self) -> Any:
        # Starting, the first connection may take a loaded server longer than a command
        # should wait: the library's wait (its connect timeout) holds until the recorder
        # is made, the short one after.
        recorder = super().application_recorder()
        self.datastore.pool.timeout = POOL_WAIT_S
        return recorder


# Saying why the database cannot be reached, without its password.
def connection_problem(url: str) -> str | None:
    """Why one connection to the PostgreSQL at `url` fails, or None if it works: at once,
    with the server's reason, where the pool would wait out its timeout and then say only
    "couldn't get a connection"."""
    env = postgres_env(url)
    try:
        psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=int(env["POSTGRES_PORT"]),
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        ).close()
    except psycopg.Error as exc:
        return f"cannot connect to the database at {shown_url(url)}: {_connect_reason(exc)}"
    return None


def shown_url(url: str) -> str:
    """The database URL without its password: fit for messages and logs."""
    env = postgres_env(url)
    host = env["POSTGRES_HOST"]
    host = f"[{host}]" if ":" in host else host
    user, port, name = env["POSTGRES_USER"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]
    return f"postgresql://{user}@{host}:{port}/{name}"


# libpq's message starts with where it tried to connect (the URL already says so).
_CONNECT_PREFIX = re.compile(
    r"^(connection failed: )?(connection to server at .*?, port \d+ failed: )?(FATAL: +)?"
)


def _connect_reason(exc: Exception) -> str:
    """The server's reason on one line: 'connection refused',
    'database "x" does not exist', 'password authentication failed for user "y"'..."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    reason = _CONNECT_PREFIX.sub("", lines[0]).strip() or lines[0]
    if reason[:1].isupper() and not reason[1:2].isupper():
        reason = reason[0].lower() + reason[1:]  # "Connection refused": part of our sentence
    return reason
