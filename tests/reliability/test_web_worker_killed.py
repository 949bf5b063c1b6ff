"""Kill -9 a web worker under load: no acknowledged write is lost, clients reconnect."""

from __future__ import annotations

import os
import signal

import pytest

from tests.reliability.checks import assert_nothing_lost, jam_for_load, load_on
from tests.reliability.load import Follower
from tests.reliability.processes import serve, store_env, wait_until

pytestmark = pytest.mark.slow

WRITERS = 6
FOLLOWERS = 4
WORKERS = 2
KILLED_PAGE_SLACK = 10  # updates in the page a killed worker may not have published


def test_killing_web_workers_under_load_loses_no_acknowledged_write(
    tmp_path, shared_store, writer_app, redis_server
):
    url, schema = shared_store
    jam = jam_for_load(writer_app, WRITERS)
    with serve(tmp_path, store_env(url, schema, redis_server.url), workers=WORKERS) as server:
        start = writer_app.position()
        load = load_on(server.base, jam, start, FOLLOWERS)
        stream = f"{server.base}/api/jams/{jam.jam_id}/stream"
        load.start()
        try:
            # Kill each of the original workers in turn, mid-load: every client
            # connected at the start loses its connection at least once.
            originals = server.workers()
            for victim in originals:
                load.wait_for_acks(load.acked_count() + 30)
                os.kill(victim, signal.SIGKILL)
                wait_until(
                    lambda v=victim: v not in server.workers() and len(server.workers()) == WORKERS,
                    "the supervisor to replace the killed worker",
                    timeout_s=120,
                )
            load.wait_for_acks(load.acked_count() + 30)
            acks = load.finish()
            written = {str(a.id) for a in acks}
            missing = [f.wait_to_see(written, timeout_s=20) for f in load.followers]
            # A client reconnecting from where the followers started gets every write.
            late = Follower(stream, start, load.closed, load.followers[0].token)
            late.start()
            late_missing = late.wait_to_see(written)
        finally:
            load.close()

    assert_nothing_lost(writer_app, load, acks)
    assert all(f.reconnects >= 1 for f in load.followers)
    assert late_missing == set()
    # A worker killed after committing a projected page but before publishing it leaves
    # clients that stay connected elsewhere without that page (docs/reliability.md):
    # they may miss at most the few updates of such pages, never a write.
    missed_live = set().union(*missing)
    assert len(missed_live) <= KILLED_PAGE_SLACK * len(originals)
    print(
        f"\nweb worker kill: {len(originals)} workers killed, {len(acks)} writes acknowledged, "
        f"0 lost; outcomes {dict(load.outcomes())}; "
        f"follower reconnects {[f.reconnects for f in load.followers]}; "
        f"updates missed live by clients that stayed connected: {len(missed_live)}"
    )
