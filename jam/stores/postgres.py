"""PostgreSQL event store (production)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from psycopg.sql import SQL, Identifier


class ApplicationRecorder(PostgresApplicationRecorder):
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


class Factory(PostgresFactory):
    application_recorder_class = ApplicationRecorder
