"""Looking back waits its turn without taking the worker's threads from everyone else."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from litestar.concurrency import set_asyncio_executor
from litestar.testing import TestClient

import ui.asof
import ui.reads
from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import issue_token
from ui.errors import Busy

WORKER_THREADS = 4  # the pool every blocking read of the worker shares, kept small here
LOOK_BACKS = 8


@pytest.fixture
def few_threads():
    """The web worker's pool for blocking calls, limited to WORKER_THREADS."""
    pool = ThreadPoolExecutor(max_workers=WORKER_THREADS)
    set_asyncio_executor(pool)
    try:
        yield
    finally:
        set_asyncio_executor(None)
        pool.shutdown(wait=False)


def test_look_backs_waiting_for_a_replay_leave_the_threads_to_other_reads(
    tmp_path, clock, few_threads, monkeypatch
):
    # 80 look-backs by one leader waited for the one replay, each in a thread of the pool
    # every read shares: a participant's idea list then took 37 s.
    app = JamApplication(Settings(data_dir=tmp_path / "var", read_wait_ms=5000), clock=clock)
    scene = open_jam(app, clock)
    ada = scene.join()
    idea = scene.post_idea(ada, title="Then")
    done = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    entered = threading.Semaphore(0)
    one_replay = ui.asof.one_replay

    @contextmanager
    def counted():
        entered.release()  # a look-back has reached the replays, in a thread of the pool
        with one_replay():
            yield

    monkeypatch.setattr(ui.reads, "one_replay", counted)
    with TestClient(create_app(app.settings, jam=app)) as client:
        secret = client.app.state.secret
        organizer = {"Authorization": f"Bearer {issue_token(secret, scene.organizer)}"}
        reader = {"Authorization": f"Bearer {issue_token(secret, ada)}"}
        stats = f"/api/jams/{scene.jam_id}/stats"
        jam = f"/api/jams/{scene.jam_id}"
        # Both known to the worker (their roles read once) before the threads are busy.
        assert client.get(jam, params={"after": app.position()}, headers=reader).is_success
        assert client.get(stats, headers=organizer).is_success
        back = {"as_of_position": done.position}
        callers = ThreadPoolExecutor(max_workers=LOOK_BACKS + 1)
        assert ui.asof.REPLAYS.acquire(timeout=5)  # a replay is running
        try:
            looks = [
                callers.submit(client.get, stats, params=back, headers=organizer)
                for _ in range(LOOK_BACKS)
            ]
            for _ in range(WORKER_THREADS):  # as many as the pool holds are there
                assert entered.acquire(timeout=10)
            read = callers.submit(client.get, jam, headers=reader)
            assert read.result(timeout=10).status_code == 200  # while the replay runs
            # Every look-back answered but those waiting their turn, before the replay ends:
            # one reaching the replays after it ended would run, rightly, and answer 200.
            deadline = time.monotonic() + 30
            while sum(f.done() for f in looks) < LOOK_BACKS - ui.asof.REPLAY_QUEUE:
                assert time.monotonic() < deadline, "look-backs neither refused nor waiting"
                time.sleep(0.01)
        finally:
            ui.asof.REPLAYS.release()
        answers = [f.result(timeout=30) for f in looks]
        callers.shutdown()
    app.close()
    statuses = sorted(a.status_code for a in answers)
    waited = ui.asof.REPLAY_QUEUE
    assert statuses == [200] * waited + [503] * (LOOK_BACKS - waited)
    busy = [a for a in answers if a.status_code == 503]
    assert all(int(a.headers["Retry-After"]) > 0 for a in busy)
    assert all("retry" in a.json()["detail"] for a in busy)


def test_a_look_back_is_refused_at_once_when_enough_wait_already():
    replays = ui.asof.Replays(queue=0)
    assert replays.acquire(timeout=5)
    outcome: list[BaseException] = []

    def look_back() -> None:
        try:
            with replays.turn(wait_s=60):
                pass
        except Busy as exc:
            outcome.append(exc)

    asking = threading.Thread(target=look_back)
    asking.start()
    asking.join(timeout=10)  # not the 60 s it would wait
    replays.release()
    assert not asking.is_alive()
    (busy,) = outcome
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == str(ui.asof.REPLAY_RETRY_AFTER_S)
    with replays.turn(wait_s=1):  # free again
        pass
