"""The PostgreSQL event store as several processes starting together meet it."""

from __future__ import annotations

import threading

from jam.application import JamApplication
from jam.settings import Settings
from tests.services import drop_schema, fresh_schema

STARTING = 6


def test_applications_starting_together_on_an_empty_store_all_start():
    # `jam serve --workers N` starts N processes at once on a store that may be new:
    # each creates the event store's tables, types and functions.
    url, schema = fresh_schema()
    barrier = threading.Barrier(STARTING)
    errors: list[BaseException] = []
    apps: list[JamApplication] = []

    def start() -> None:
        barrier.wait()
        try:
            apps.append(JamApplication(Settings(database_url=url, database_schema=schema)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(STARTING)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert [app.position() for app in apps] == [0] * STARTING
    finally:
        for app in apps:
            app.close()
        drop_schema(url, schema)


def test_starting_waits_for_a_first_connection_as_long_as_the_connect_timeout(monkeypatch):
    # On a loaded machine a new server connection can take more than the second a
    # command waits for one; a process starting must not give up that soon.
    from eventsourcing.postgres import PostgresDatastore

    from jam.stores.postgres import POOL_WAIT_S

    waits: list[float] = []
    register = PostgresDatastore.register_type_adapters

    def noting_the_wait(self: PostgresDatastore) -> None:
        waits.append(self.pool.timeout)
        register(self)

    monkeypatch.setattr(PostgresDatastore, "register_type_adapters", noting_the_wait)
    url, schema = fresh_schema()
    app = JamApplication(Settings(database_url=url, database_schema=schema))
    try:
        assert waits
        assert all(wait == 5 for wait in waits)  # POSTGRES_CONNECT_TIMEOUT
        assert app.recorder.datastore.pool.timeout == POOL_WAIT_S  # type: ignore[attr-defined]
    finally:
        app.close()
        drop_schema(url, schema)
