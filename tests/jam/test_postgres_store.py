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
