"""Searches for similar ideas: a few of one person's at once, and never all the threads."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest
from litestar.concurrency import set_asyncio_executor
from litestar.testing import TestClient

import ui.topics
from jam.application import JamApplication
from jam.settings import Settings
from tests.stories import open_jam
from ui.app import create_app
from ui.auth import issue_token
from ui.errors import Busy

WORKER_THREADS = 3  # the pool every blocking read of the worker shares, kept small here


@pytest.fixture
def few_threads():
    pool = ThreadPoolExecutor(max_workers=WORKER_THREADS)
    set_asyncio_executor(pool)
    try:
        yield
    finally:
        set_asyncio_executor(None)
        pool.shutdown(wait=False)


def test_searches_are_limited_per_person_and_wait_without_holding_threads(
    tmp_path, clock, few_threads
):
    # ~50 ms of CPU each: 400 at once made another reader's page take 14.5 s.
    app = JamApplication(Settings(data_dir=tmp_path / "var"), clock=clock)
    scene = open_jam(app, clock)
    ada, bea, cy = scene.join(), scene.join(name="Bea"), scene.join(name="Cy")
    scene.post_idea(ada, title="Clean water for every school")
    with TestClient(create_app(app.settings, jam=app)) as client:
        secret = client.app.state.secret

        def signed(who):
            return {"Authorization": f"Bearer {issue_token(secret, who)}"}

        jam = f"/api/jams/{scene.jam_id}"
        similar = f"{jam}/similar"
        for who in (ada, bea, cy):  # each known to the worker before the threads are busy
            assert client.get(jam, params={"after": app.position()}, headers=signed(who))
        searching = threading.Semaphore(0)
        go_on = threading.Event()
        search = client.app.state.services.similar.search

        def slow_search(*args, **kwargs):
            searching.release()
            assert go_on.wait(30)
            return search(*args, **kwargs)

        client.app.state.services.similar.search = slow_search
        callers = ThreadPoolExecutor(max_workers=8)
        try:
            text = {"text": "water for schools"}
            ada_s = [callers.submit(client.get, similar, params=text, headers=signed(ada))]
            assert searching.acquire(timeout=10)
            ada_s.append(callers.submit(client.get, similar, params=text, headers=signed(ada)))
            assert searching.acquire(timeout=10)  # two of Ada's at once
            more = [
                callers.submit(client.get, similar, params=text, headers=signed(ada))
                for _ in range(3)
            ]
            refused = [f.result(timeout=10) for f in more]  # at once, while hers run
            assert [r.status_code for r in refused] == [429] * 3
            assert all(int(r.headers["Retry-After"]) > 0 for r in refused)
            assert all("at most 2" in r.json()["detail"] for r in refused)
            # Bea's wait for a turn without taking a thread: Cy's read still has one.
            bea_s = [
                callers.submit(client.get, similar, params=text, headers=signed(bea))
                for _ in range(2)
            ]
            read = callers.submit(client.get, jam, headers=signed(cy))
            assert read.result(timeout=10).status_code == 200
            assert not searching.acquire(timeout=0)  # Bea's have not started searching
        finally:
            go_on.set()
        answers = [f.result(timeout=30) for f in ada_s + bea_s]
        callers.shutdown()
    app.close()
    assert [a.status_code for a in answers] == [200] * 4
    assert answers[0].json()[0]["title"] == "Clean water for every school"


def test_a_search_is_refused_when_too_many_wait_in_the_worker(monkeypatch):
    monkeypatch.setattr(ui.topics, "SIMILAR_RUNNING", 1)
    monkeypatch.setattr(ui.topics, "SIMILAR_WAITING", 1)

    async def main():
        searches = ui.topics.SimilarSearches()
        done = asyncio.Event()

        async def search() -> None:
            async with searches.turn(uuid4()):
                await done.wait()

        running = asyncio.ensure_future(search())
        await asyncio.sleep(0)  # it takes the one turn
        waiting = asyncio.ensure_future(search())
        await asyncio.sleep(0)  # it waits for the turn
        with pytest.raises(Busy) as refused:
            async with searches.turn(uuid4()):
                pass
        done.set()
        await asyncio.gather(running, waiting)
        async with searches.turn(uuid4()):  # none waiting now
            pass
        return refused.value

    refused = asyncio.run(main())
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == str(ui.topics.SIMILAR_RETRY_AFTER_S)
