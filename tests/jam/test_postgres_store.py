"""The PostgreSQL event store as several processes starting together meet it."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

from domain import Invite
from domain.values import invite_id
from jam import commands as c
from jam.application import JamApplication
from jam.clock import ManualClock
from jam.settings import Settings
from jam.stores.postgres import ListeningSubscription
from tests.services import drop_schema, fresh_schema
from tests.stories import open_jam

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


def test_a_subscription_hears_a_write_committed_while_it_starts_to_listen(monkeypatch):
    # A follower subscribes: it reads what is recorded, and another thread starts to
    # LISTEN. A write committed between the two was once neither read nor notified, and
    # a follower that had caught up sat on it until the next write came.
    url, schema = fresh_schema()
    app = JamApplication(Settings(database_url=url, database_schema=schema))
    recorder = app.recorder
    read_once, written = threading.Event(), threading.Event()
    select = type(recorder).select_notifications

    def noting_the_read(self, *args, **kwargs):
        try:
            return select(self, *args, **kwargs)
        finally:
            read_once.set()

    listen = ListeningSubscription._listen

    def listening_late(self) -> None:
        written.wait(10)
        listen(self)

    monkeypatch.setattr(type(recorder), "select_notifications", noting_the_read)
    monkeypatch.setattr(ListeningSubscription, "_listen", listening_late)
    heard: queue.SimpleQueue[int] = queue.SimpleQueue()
    try:
        with recorder.subscribe(gt=app.position()) as subscription:
            reader = threading.Thread(target=lambda: [heard.put(n.id) for n in subscription])
            reader.start()
            assert read_once.wait(10)
            done = app.handle(c.IssueInvite(code=uuid4().hex, role="organizer"))
            written.set()
            try:
                assert heard.get(timeout=10) == done.position
            finally:
                subscription.stop()
                reader.join(10)
    finally:
        app.close()
        drop_schema(url, schema)


SHARED_JOINS = 300  # people signing in at a jam's opening with one code, per process


def test_many_joining_through_one_invite_code_from_two_processes_are_all_let_in():
    # Everyone of a segment signs in with one code: every join redeems the same invite, and
    # two web workers' committers keep changing it under each other. Contention is no
    # reason to refuse anyone: each join gets in, and the invite counts every use.
    url, schema = fresh_schema()
    settings = Settings(database_url=url, database_schema=schema)
    apps = [JamApplication(settings), JamApplication(settings)]
    try:
        scene = open_jam(apps[0], ManualClock(apps[0].now()))
        code = uuid4().hex
        apps[0].handle(c.IssueInvite(code=code, role="participant", jam_id=scene.jam_id, uses=1000))
        joins = [
            (apps[i % 2], c.JoinJam(invite_code=code, participant_id=uuid4(), display_name="P"))
            for i in range(2 * SHARED_JOINS)
        ]

        def join(pair: tuple[JamApplication, c.JoinJam]) -> object:
            app, command = pair
            try:
                return app.handle(command)
            except Exception as exc:
                return exc

        with ThreadPoolExecutor(64) as pool:
            results = list(pool.map(join, joins))
        refused = [r for r in results if not isinstance(r, c.Done)]
        assert refused == []
        assert apps[1].load(Invite, invite_id(code)).redeemed == 2 * SHARED_JOINS
    finally:
        for app in apps:
            app.close()
        drop_schema(url, schema)
