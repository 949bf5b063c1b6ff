"""Kill -9 `jam worker projections` in the production topology, under load through HTTP.

`jam serve --workers 2` leaves the read models to the projection worker
(`OPENJAM_PROJECTIONS=external`) on PostgreSQL with Redis: writers keep writing
through the web workers while the worker is dead, a new one resumes from the last
page the killed one committed, the read models equal a rebuild, and the clients
following the jam's stream receive every acknowledged write.
"""

from __future__ import annotations

import signal

import pytest

from projections import queries
from projections.db import PostgresViews, ViewDatabase
from tests.ops.processes import start, stop
from tests.projections.conftest import dump, runner_for
from tests.reliability.checks import assert_nothing_lost, jam_for_load, load_on
from tests.reliability.processes import serve, store_env, wait_until
from tests.services import drop_schema, fresh_schema

pytestmark = pytest.mark.slow

KILLS = 2
WRITERS = 4
FOLLOWERS = 2


def _tracked(views: ViewDatabase) -> int:
    with views.reading() as cur:
        return queries.position(cur)


def test_the_projection_worker_killed_under_http_load_resumes_and_equals_a_rebuild(
    tmp_path, shared_store, writer_app, redis_server
):
    url, schema = shared_store
    env = {
        **store_env(url, schema, redis_server.url),
        "OPENJAM_PROJECTIONS": "external",
        "OPENJAM_RANKING": "external",  # no ranking here: this test is about the projection
    }
    jam = jam_for_load(writer_app, WRITERS)
    views = PostgresViews(url, schema)  # where the workers keep them
    log = tmp_path / "projections.log"
    killed_at: list[int] = []
    rebuilt: PostgresViews | None = None
    worker = start(tmp_path, env, log, "worker", "projections")
    try:
        with serve(tmp_path, env, workers=2) as server:
            load = load_on(server.base, jam, writer_app.position(), FOLLOWERS)
            load.start()
            try:
                for _ in range(KILLS):
                    load.wait_for_acks(load.acked_count() + 30)
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    killed_at.append(_tracked(views))
                    load.wait_for_acks(load.acked_count() + 20)  # writes go on without it
                    worker = start(tmp_path, env, log, "worker", "projections")
                    # Killed next while following, not while starting.
                    wait_until(lambda: _tracked(views) > killed_at[-1], "the new worker")
                acks, missing = load.settle()
            finally:
                load.close()
        end = writer_app.position()
        wait_until(lambda: _tracked(views) >= end, f"the read models to reach {end}")
        assert stop(worker) == 0
        _, rebuilt_schema = fresh_schema()
        rebuilt = PostgresViews(url, rebuilt_schema)
        assert runner_for(writer_app, rebuilt).rebuild() == end
        assert dump(views) == dump(rebuilt)
    finally:
        stop(worker)
        views.close()
        if rebuilt is not None:
            rebuilt.close()
            drop_schema(url, rebuilt.schema)

    assert_nothing_lost(writer_app, load, acks)
    assert [m for m in missing if m] == []  # the followers caught up with every write
    assert killed_at[0] > 0  # each killed worker had committed pages
    assert killed_at == sorted(set(killed_at))
    print(
        f"\nprojection worker kill: {KILLS} kills under HTTP load, {len(acks)} writes "
        f"acknowledged, 0 lost; read models at the kills {killed_at}, log end {end}; "
        f"equal to a rebuild; follower reconnects {[f.reconnects for f in load.followers]}"
    )
