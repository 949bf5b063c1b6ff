"""PostgreSQL restarted under load: writes fail fast with 503 meanwhile, nothing is
half-written, and the service resumes by itself."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
import pytest

from jam.application import JamApplication
from jam.settings import Settings
from jam.stores.postgres import POOL_WAIT_S
from tests.reliability.checks import Now, assert_nothing_lost, jam_for_load, load_on
from tests.reliability.processes import serve, store_env, wait_until
from tests.stories import open_jam

pytestmark = pytest.mark.slow

WRITERS = 4
FOLLOWERS = 2
# Refused fast: while PostgreSQL is down a store call waits at most POOL_WAIT_S for a
# connection and is tried twice (see the test below), and a write waits for at most the
# batch ahead of it to be refused before its own is. Twice that, for a busy machine: a
# bound on waiting for a dead database, not a benchmark.
STORE_TRIES = 2
REFUSAL_BOUND_S = 2 * (2 * STORE_TRIES * POOL_WAIT_S)


@dataclass
class Probe:
    sent: float
    answered: float
    status: int
    reason: str
    pid: int


class Readiness(threading.Thread):
    """Asks `/ready` again and again, each time on a new connection (so any worker may
    answer), until `stop` is set."""

    def __init__(self, base: str, stop: threading.Event) -> None:
        super().__init__(name="readiness", daemon=True)
        self.url = f"{base}/ready"
        self.probes: list[Probe] = []
        self.stop = stop

    def run(self) -> None:
        while not self.stop.is_set():
            sent = time.monotonic()
            try:
                response = httpx.get(self.url, timeout=30)
                body = response.json()
            except (httpx.HTTPError, ValueError):
                pass  # an answer that is no readiness says nothing: asked again
            else:
                status, reason = response.status_code, body["reason"] or ""
                self.probes.append(Probe(sent, time.monotonic(), status, reason, body["pid"]))
            self.stop.wait(0.1)


def test_writes_are_refused_with_503_while_postgres_is_down_and_resume_after(
    tmp_path, postgres_server, redis_server, outage_s
):
    url = postgres_server.url
    app = JamApplication(Settings(database_url=url, database_schema="public"))
    jam = jam_for_load(app, WRITERS)
    try:
        with serve(tmp_path, store_env(url, "public", redis_server.url), workers=2) as server:
            load = load_on(server.base, jam, app.position(), FOLLOWERS)
            # Two at a time: a probe waits for the store as a write does.
            asking = [Readiness(server.base, load.closed) for _ in range(2)]
            load.start()
            for readiness in asking:
                readiness.start()
            try:
                load.wait_for_acks(30)
                postgres_server.stop()  # immediate: every session is cut, as in a crash
                down = time.monotonic()
                # The load runs through the outage: its length is the point of the test.
                time.sleep(outage_s)
                restarting = time.monotonic()
                postgres_server.start()
                up = time.monotonic()
                acks, missing = load.settle(timeout_s=120)
                workers = set(server.workers())

                def ready_workers() -> set[int]:
                    probes = [p for r in asking for p in r.probes]
                    return {p.pid for p in probes if p.sent > up and p.status == 200}

                wait_until(lambda: ready_workers() >= workers, "every worker to be ready again")
            finally:
                load.close()
                for readiness in asking:
                    readiness.join()
    finally:
        app.close()  # its pooled connections died with the server
    with JamApplication(app.settings) as reader:
        assert_nothing_lost(reader, load, acks)

    refusals = load.refusals()
    assert refusals, "no write was refused while PostgreSQL was down"
    assert {(r.status, r.error) for r in refusals} == {(503, "store_unavailable")}
    assert all("event store is unavailable" in r.detail for r in refusals)
    # Refused while PostgreSQL was down, not held until it was back: every writer was
    # told so before the outage ended...
    first_refusals = []
    for writer in load.writers:
        refused = [r.at - down for r in writer.refusals if down < r.at < up]
        assert refused, f"{writer.label} had no write refused before PostgreSQL was back"
        first_refusals.append(round(min(refused), 2))
    # ...and no write waited long for its answer, refused or not, while it was down.
    answers = [(a.sent, a.at) for a in acks] + [(r.sent, r.at) for r in refusals]
    waits = [at - sent for sent, at in answers if sent <= up and at >= down]
    assert waits, "no write was under way while PostgreSQL was down"
    assert max(waits) < REFUSAL_BOUND_S
    assert max(r.seconds for r in refusals) < REFUSAL_BOUND_S
    # /ready said not ready while PostgreSQL was down, and each worker ready once it was back.
    probes = [p for r in asking for p in r.probes]
    while_down = [p for p in probes if p.sent > down and p.answered < restarting]
    assert while_down, "/ready was not asked while PostgreSQL was down"
    assert {p.status for p in while_down} == {503}
    assert all("event store unavailable" in p.reason for p in while_down)
    assert len(workers) == 2
    assert [m for m in missing if m] == []  # the projections resumed; streams caught up
    print(
        f"\npostgres restart: {outage_s:.0f} s down ({up - down:.1f} s with restart), "
        f"{len(acks)} writes acknowledged, 0 lost, {len(refusals)} refused with 503 "
        f"(slowest refusal {max(r.seconds for r in refusals):.2f} s, bound "
        f"{REFUSAL_BOUND_S:.0f} s; each writer's first refusal {first_refusals} s after "
        f"the stop); /ready 503 {len(while_down)} times while down, 200 from every worker "
        f"after; outcomes {dict(load.outcomes())}"
    )


def test_a_stream_sends_an_update_that_arrives_after_a_later_one_once():
    # Two workers' projections publish their own pages: the later page may arrive first.
    from projections.models import LiveUpdate
    from ui.live import _Sent

    def update(position: int) -> LiveUpdate:
        return LiveUpdate(position, "jam", "idea", f"i{position}", None)

    sent = _Sent()
    sent.remember([update(10)])
    assert [u.position for u in sent.unsent([update(14), update(15)], last=10)] == [14, 15]
    assert [u.position for u in sent.unsent([update(12), update(14)], last=15)] == [12]
    assert sent.unsent([update(12), update(9)], last=15) == []
    # A fresh stream has sent nothing: the client's own position counts as seen.
    assert [u.position for u in _Sent().unsent([update(7), update(8)], last=7)] == [8]


def test_a_projection_that_loses_the_store_while_starting_serves_and_catches_up_later(
    postgres_server,
):
    # A worker starting while PostgreSQL restarts must not fail its start: with
    # several workers, uvicorn stops them all when one fails to start.
    from projections.db import PostgresViews
    from tests.projections.conftest import runner_for

    settings = Settings(database_url=postgres_server.url, database_schema="public")
    app = JamApplication(settings)
    scene = open_jam(app, Now())  # type: ignore[arg-type]
    views = PostgresViews(postgres_server.url, "public")
    runner = runner_for(app, views)
    try:
        postgres_server.stop()
        runner.start()  # its catch-up finds no store
        postgres_server.start()
        idea = _once_accepted(lambda: scene.post_idea(scene.join(name="After")))
        position = app.position()
        assert runner.wait_for(position, timeout=60), "the projection never caught up"
        assert runner.error is None
        with views.reading() as cur:
            ideas = cur.execute("SELECT idea_id FROM rm_ideas").fetchall()
        assert str(idea) in {row[0] for row in ideas}
    finally:
        runner.stop()
        views.close()
        app.close()


def test_the_store_is_tried_twice_not_ten_times_before_a_write_is_refused(shared_store):
    # The library retries ten times with pauses (about ten seconds against a server
    # that is down); one retry mends a pooled connection the server closed.
    from eventsourcing.persistence import OperationalError

    url, schema = shared_store
    with JamApplication(Settings(database_url=url, database_schema=schema)) as app:
        recorder = app.recorder
        real = recorder.datastore.get_connection
        calls: list[int] = []

        def down():
            calls.append(1)
            raise OperationalError("the server is down")

        recorder.datastore.get_connection = down  # type: ignore[method-assign]
        with pytest.raises(OperationalError):
            recorder.insert_events([])
        assert len(calls) == 2
        with pytest.raises(OperationalError):
            recorder.max_notification_id()
        assert len(calls) == 4

        first = True

        def closed_once():
            nonlocal first
            calls.append(1)
            if first:
                first = False
                raise OperationalError("server closed the connection unexpectedly")
            return real()

        recorder.datastore.get_connection = closed_once  # type: ignore[method-assign]
        assert recorder.max_notification_id() in (None, 0)
        assert len(calls) == 6


def _once_accepted(write):
    """Retry a write refused while the pool reconnects, as a client would."""
    from jam.errors import StoreUnavailable

    deadline = time.monotonic() + 60
    while True:
        try:
            return write()
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
