"""`jam projections rebuild` in the production topology: run under load, and interrupted.

`jam serve --workers 2` leaves the read models to `jam worker projections`
(`OPENJAM_PROJECTIONS=external`) on PostgreSQL with Redis. A rebuild run while writers
write and followers follow the jam's stream must lose no live update; a rebuild killed
halfway must leave the worker saying so (once), `jam projections status` saying so, and
a rebuild run again must set everything right.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from uuid import uuid4

import pytest

from jam import commands as c
from projections import queries
from projections.db import PostgresViews, ViewDatabase
from projections.runner import REBUILD_MARK
from tests.ops.processes import json_lines, start, stop
from tests.projections.conftest import dump, runner_for
from tests.reliability.checks import Now, assert_nothing_lost, jam_for_load, load_on
from tests.reliability.processes import serve, store_env, wait_until
from tests.services import drop_schema, fresh_schema
from tests.stories import open_jam

pytestmark = pytest.mark.slow

WRITERS = 4
FOLLOWERS = 3
REBUILDS = 2


def _tracked(views: ViewDatabase) -> int:
    with views.reading() as cur:
        return queries.position(cur)


def _marked(views: ViewDatabase) -> bool:
    with views.reading() as cur:
        found = cur.execute("SELECT 1 FROM rm_tracking WHERE name = ?", (REBUILD_MARK,))
        return found.fetchone() is not None


def _env(url: str, schema: str, redis_url: str) -> dict[str, str]:
    return {
        **store_env(url, schema, redis_url),
        "OPENJAM_PROJECTIONS": "external",
        "OPENJAM_RANKING": "external",  # no ranking here: this test is about the projection
        "OPENJAM_LOG_FORMAT": "json",
    }


def _equal_to_a_rebuild(writer_app, views: PostgresViews, url: str) -> None:
    _, schema = fresh_schema()
    rebuilt = PostgresViews(url, schema)
    try:
        assert runner_for(writer_app, rebuilt).rebuild() == writer_app.position()
        assert dump(views) == dump(rebuilt)
    finally:
        rebuilt.close()
        drop_schema(url, schema)


def test_a_rebuild_under_http_load_loses_no_live_update(
    tmp_path, shared_store, writer_app, redis_server
):
    url, schema = shared_store
    env = _env(url, schema, redis_server.url)
    jam = jam_for_load(writer_app, WRITERS)
    views = PostgresViews(url, schema)  # where the worker keeps them
    worker = start(tmp_path, env, tmp_path / "projections.log", "worker", "projections")
    rebuilt_at: list[int] = []
    try:
        with serve(tmp_path, env, workers=2) as server:
            load = load_on(server.base, jam, writer_app.position(), FOLLOWERS)
            load.start()
            try:
                for _ in range(REBUILDS):
                    load.wait_for_acks(load.acked_count() + 30)
                    log = tmp_path / "rebuild.log"
                    rebuild = start(tmp_path, env, log, "projections", "rebuild")
                    assert rebuild.wait(timeout=120) == 0, log.read_text()
                    rebuilt_at.append(_tracked(views))
                acks, missing = load.settle()
            finally:
                load.close()
        end = writer_app.position()
        wait_until(lambda: _tracked(views) >= end, f"the read models to reach {end}")
        assert stop(worker) == 0
        _equal_to_a_rebuild(writer_app, views, url)
    finally:
        stop(worker)
        views.close()

    assert_nothing_lost(writer_app, load, acks)
    assert [m for m in missing if m] == []  # the followers heard of every write
    print(
        f"\nrebuild under load: {REBUILDS} rebuilds (read models at {rebuilt_at} after them), "
        f"{len(acks)} writes acknowledged, 0 lost, every follower heard of every one; "
        f"follower reconnects {[f.reconnects for f in load.followers]}"
    )


def _stalled_stderr() -> tuple[int, int]:
    """A pipe whose buffer is full: a process writing to it blocks until it is read."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"x" * 65536)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    fcntl.fcntl(read_end, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
    return read_end, write_end


def _killed_halfway(tmp_path, env: dict[str, str], views: ViewDatabase) -> None:
    """`jam projections rebuild`, killed with SIGKILL once it has emptied the read models.

    Its progress bar writes to a pipe nobody reads: it stops at its first page, before
    it could finish, and is killed there."""
    read_end, write_end = _stalled_stderr()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jam.cli", "projections", "rebuild"],
        cwd=tmp_path,
        env={**clean, **env},
        stdout=subprocess.DEVNULL,
        stderr=write_end,
    )
    os.close(write_end)
    try:
        wait_until(lambda: _marked(views) or proc.poll() is not None, "the rebuild to begin")
        assert proc.poll() is None, "the rebuild ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        os.close(read_end)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


WARNING = "a `jam projections rebuild` is under way, or one was interrupted and must be run again"


def _said(log, words: str) -> int:
    """How many of the log's records say `words`."""
    return sum(1 for line in json_lines(log) if words in line["message"])


def test_a_rebuild_killed_halfway_is_reported_until_one_run_again_completes(
    tmp_path, shared_store, writer_app, redis_server
):
    url, schema = shared_store
    env = _env(url, schema, redis_server.url)
    scene = open_jam(writer_app, Now())  # type: ignore[arg-type]
    author = scene.join()

    def post(n: int) -> None:
        for i in range(n):
            writer_app.handle(
                c.PostIdea(
                    actor=author,
                    jam_id=scene.jam_id,
                    idea_id=uuid4(),
                    forum="health",
                    title=f"Idea {i}",
                    body="Written while the read models are rebuilt",
                )
            )

    post(20)
    views = PostgresViews(url, schema)
    log = tmp_path / "projections.log"
    worker = start(tmp_path, env, log, "worker", "projections")
    try:
        wait_until(lambda: _said(log, "projecting") >= 1, "the worker to catch up")
        assert _tracked(views) == writer_app.position()
        _killed_halfway(tmp_path, env, views)
        assert _marked(views)
        # The worker finds the rebuild's mark when the next writes come, and a worker
        # started now finds it at once: each says so, once, however long it waits.
        post(5)
        wait_until(lambda: _said(log, WARNING) == 1, "the worker's warning")
        assert stop(worker) == 0
        worker = start(tmp_path, env, log, "worker", "projections")
        wait_until(lambda: _said(log, WARNING) == 2, "the new worker's warning")

        status_log = tmp_path / "status.log"
        assert start(tmp_path, env, status_log, "projections", "status").wait(timeout=60) == 0
        assert "interrupted: run it again" in status_log.read_text()
        post(5)  # still nothing projected meanwhile
        assert _said(log, WARNING) == 2  # not once per look at the mark

        rerun_log = tmp_path / "rebuild.log"
        rerun = start(tmp_path, env, rerun_log, "projections", "rebuild")
        assert rerun.wait(timeout=120) == 0, rerun_log.read_text()
        end = writer_app.position()
        wait_until(lambda: _tracked(views) >= end, f"the read models to reach {end}")
        wait_until(
            lambda: _said(log, "the read models were rebuilt") == 1,
            "the worker to say it projects again",
        )
        assert not _marked(views)
        assert stop(worker) == 0
        _equal_to_a_rebuild(writer_app, views, url)
    finally:
        stop(worker)
        views.close()
    assert _said(log, WARNING) == 2
