"""Every PostgreSQL session ended by the server (`pg_terminate_backend`, as an operator or a
failover does) while the production topology serves: reads go on without an error.

The web workers' pools still hold the ended connections; a read that gets one begins
again on a fresh one, so no reader sees a 500. The server is a private cluster: ending
every session of a shared one would cut other tests.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import httpx
import psycopg
import pytest

from jam.application import JamApplication
from jam.settings import Settings
from tests.ops.processes import start, stop
from tests.reliability.checks import jam_for_load, sign_in
from tests.reliability.processes import serve, store_env, wait_until

pytestmark = pytest.mark.slow

AT_ONCE = 16  # reads in flight together: every worker's pool holds several connections


def _terminate_every_session(url: str) -> int:
    """End every other session of the database; return how many there were."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
        conn.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        # The server ends them at once; wait until they are gone before reading on.
        while conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
        ).fetchone():
            conn.execute("SELECT pg_sleep(0.01)")
    return len(pids)


def test_reads_answer_after_the_server_ended_every_session(tmp_path, postgres_server, redis_server):
    url = postgres_server.url
    env = {
        **store_env(url, "public", redis_server.url),
        "OPENJAM_PROJECTIONS": "external",
        "OPENJAM_RANKING": "external",
    }
    app = JamApplication(Settings(database_url=url, database_schema="public"))
    jam = jam_for_load(app, 1)
    worker = start(tmp_path, env, tmp_path / "projections.log", "worker", "projections")
    try:
        with serve(tmp_path, env, workers=2) as server:
            headers = {"Authorization": f"Bearer {sign_in(server.base, jam.invite_codes[0])}"}
            with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
                posted = client.post(
                    f"/api/jams/{jam.jam_id}/ideas",
                    json={"forum": "health", "title": "Sessions end", "body": "Reads go on"},
                    headers={"Idempotency-Key": uuid4().hex},
                )
                assert posted.status_code == 201, posted.text
                idea, after = posted.json()["id"], posted.json()["position"]
                # Each waits until the read models hold the idea (the projection's own
                # connection is ended too, and it reconnects).
                reads = [
                    f"/api/jams/{jam.jam_id}/ideas?after={after}",
                    f"/api/jams/{jam.jam_id}/ideas?sort=top&after={after}",
                    f"/api/ideas/{idea}?after={after}",
                    f"/api/jams/{jam.jam_id}?after={after}",
                    f"/api/me/activity?after={after}",
                ]

                def answers() -> list[tuple[str, int]]:
                    with ThreadPoolExecutor(AT_ONCE) as pool:
                        got = pool.map(lambda path: (path, client.get(path)), reads * AT_ONCE)
                        return [(path, r.status_code) for path, r in got]

                assert {status for _, status in answers()} == {200}  # every pool is full
                ended = _terminate_every_session(url)
                refused = [(path, status) for path, status in answers() if status != 200]
                wait_until(server.healthy, "the server to answer")
    finally:
        stop(worker)
        app.close()
    assert ended > 2  # the web workers' pooled connections, the projection worker's...
    assert refused == []
