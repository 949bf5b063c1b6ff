"""PostgreSQL restarted under load: writes fail fast with 503 meanwhile, nothing is
half-written, and the service resumes by itself."""

from __future__ import annotations

import time

import pytest

from jam.application import JamApplication
from jam.settings import Settings
from tests.reliability.checks import assert_nothing_lost, jam_for_load, load_on
from tests.reliability.processes import serve, store_env

pytestmark = pytest.mark.slow

WRITERS = 4
FOLLOWERS = 2


def test_writes_are_refused_with_503_while_postgres_is_down_and_resume_after(
    tmp_path, postgres_server, redis_server, outage_s
):
    url = postgres_server.url
    app = JamApplication(Settings(database_url=url, database_schema="public"))
    jam = jam_for_load(app, WRITERS)
    try:
        with serve(tmp_path, store_env(url, "public", redis_server.url), workers=2) as server:
            load = load_on(server.base, jam, app.position(), FOLLOWERS)
            load.start()
            try:
                load.wait_for_acks(30)
                postgres_server.stop()  # immediate: every session is cut, as in a crash
                down = time.monotonic()
                # The load runs through the outage: its length is the point of the test.
                time.sleep(outage_s)
                postgres_server.start()
                up = time.monotonic()
                load.wait_for_acks(load.acked_count() + 30, timeout_s=120)
                acks = load.finish()
                written = {str(a.id) for a in acks}
                missing = [f.wait_to_see(written) for f in load.followers]
            finally:
                load.close()
            health = server.healthy()
    finally:
        app.close()  # its pooled connections died with the server
    with JamApplication(app.settings) as reader:
        assert_nothing_lost(reader, load, acks)

    refusals = load.refusals()
    assert refusals, "no write was refused while PostgreSQL was down"
    assert {(r.status, r.error) for r in refusals} == {(503, "store_unavailable")}
    assert all("event store is unavailable" in r.detail for r in refusals)
    assert [m for m in missing if m] == []  # the projections resumed; streams caught up
    assert health
    slowest = max(r.seconds for r in refusals)
    print(
        f"\npostgres restart: {outage_s:.0f} s down ({up - down:.1f} s with restart), "
        f"{len(acks)} writes acknowledged, 0 lost, {len(refusals)} refused with 503 "
        f"(slowest refusal {slowest:.2f} s); outcomes {dict(load.outcomes())}"
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
