"""`jam worker projections`: keeps the read models, publishes live updates through Redis,
stops cleanly on SIGTERM and resumes where it stopped; `jam worker ranking` without one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import redis

import ui.workers
from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections import queries
from projections.db import open_views
from projections.watch import ProjectionWatch, projected_channel
from tests.ops.processes import ROOT, json_lines, start, stop, wait_answering
from tests.services import require_redis
from tests.stories import open_jam
from tests.ui.harness import free_port
from tests.ui.test_live import Now
from ui.bootstrap import build

pytestmark = pytest.mark.slow


def settings_of(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


def post_idea(app: JamApplication, scene, author, title: str) -> c.Done:
    return app.handle(
        c.PostIdea(
            actor=author,
            jam_id=scene.jam_id,
            idea_id=uuid4(),
            forum="health",
            title=title,
            body="B",
        )
    )


def titles(settings: Settings, jam_id) -> set[str]:
    views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
    try:
        with views.reading() as cur:
            return {idea.title for idea in queries.ideas(cur, str(jam_id), sort="new", limit=50)}
    finally:
        views.close()


def test_the_projection_worker_publishes_stops_on_sigterm_and_resumes(tmp_path, deployment):
    settings = settings_of(deployment)
    app = JamApplication(settings)
    scene = open_jam(app, Now())
    ada = scene.join()
    first = post_idea(app, scene, ada, "Before the worker")
    log = tmp_path / "worker.log"
    metrics_port = free_port()
    env = {**deployment, "OPENJAM_METRICS_PORT": str(metrics_port)}
    listener = redis.Redis.from_url(settings.redis_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(f"jam:{scene.jam_id}", projected_channel(settings.database_schema))
    worker = start(tmp_path, env, log, "worker", "projections")
    views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
    watch = ProjectionWatch(views, settings.redis_url, projected_channel(settings.database_schema))
    watch.start()
    try:
        wait_answering(f"http://127.0.0.1:{metrics_port}/metrics", worker, log)
        assert watch.wait_for(first.position, timeout=30)  # caught up with what was there
        live = post_idea(app, scene, ada, "While it follows")
        assert watch.wait_for(live.position, timeout=30)

        # Its pages reach Redis: the updates on the jam's channel, then the announcement.
        channels = [f"jam:{scene.jam_id}", projected_channel(settings.database_schema)]
        announced = str(live.position).encode()

        def updates(seen: dict[str, list[bytes]]) -> list[dict]:
            return [u for raw in seen.get(channels[0], []) for u in json.loads(raw)]

        published = received(
            listener,
            until=lambda seen: (
                announced in seen.get(channels[1], [])
                and any(u["position"] == live.position for u in updates(seen))
            ),
        )
        update = next(u for u in updates(published) if u["position"] == live.position)
        assert (update["kind"], update["item_id"]) == ("idea", str(live.id))

        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert "openjam_projection_lag_events" in scraped

        assert stop(worker) == 0  # SIGTERM: a clean stop
        missed = [post_idea(app, scene, ada, f"While it was down {n}") for n in range(3)]
        assert watch.position == live.position  # nobody projects now

        again = start(tmp_path, deployment, log, "worker", "projections")
        try:
            assert watch.wait_for(missed[-1].position, timeout=30)
        finally:
            assert stop(again) == 0
        assert titles(settings, scene.jam_id) == {
            "Before the worker",
            "While it follows",
            *(f"While it was down {n}" for n in range(3)),
        }
        lines = json_lines(log)  # every line is JSON
        stopped = [x for x in lines if x["message"] == "the projections worker stopped"]
        assert len(stopped) == 2
        signals = [x["signal"] for x in lines if x["message"].startswith("stopping the")]
        assert signals == ["SIGTERM", "SIGTERM"]
    finally:
        stop(worker)
        watch.stop()
        views.close()
        listener.close()
        app.close()


def received(listener, until) -> dict[str, list[bytes]]:
    """Messages per channel until `until(seen)` holds (None answers are subscribe notices)."""
    seen: dict[str, list[bytes]] = {}
    deadline = time.monotonic() + 30
    while not until(seen):
        assert time.monotonic() < deadline, f"nothing more published; got {seen}"
        message = listener.get_message(timeout=1)
        if message is not None:
            seen.setdefault(message["channel"].decode(), []).append(message["data"])
    return seen


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), clean.get("PYTHONPATH"))))
    return subprocess.run(
        [sys.executable, "-m", "jam.cli", *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_projection_worker_needs_redis_to_publish(tmp_path):
    result = run_cli(tmp_path, {}, "worker", "projections")
    assert result.returncode == 2
    assert "set OPENJAM_REDIS_URL" in result.stderr


def test_external_projections_without_redis_are_refused(tmp_path):
    result = run_cli(tmp_path, {"OPENJAM_PROJECTIONS": "external"}, "serve")
    assert result.returncode == 2
    assert "OPENJAM_PROJECTIONS=external needs OPENJAM_REDIS_URL" in result.stderr


def test_a_stop_during_catch_up_ends_after_the_page_in_hand(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "var", redis_url=require_redis())
    with JamApplication(settings) as app:
        end = max(
            app.handle(c.IssueInvite(code=uuid4().hex, role="organizer")).position for _ in range(5)
        )

    def small_pages(*args, **kwargs):
        services = build(*args, **kwargs)
        services.runner._page_size = 2
        return services

    monkeypatch.setattr(ui.workers, "build", small_pages)
    stop = threading.Event()
    stop.set()  # the signal came while the worker was starting
    ui.workers.project(settings, stop)
    views = open_views(None, "", settings.data_dir)
    try:
        with views.reading() as cur:
            assert queries.position(cur) == 2 < end  # one page committed, then it stopped
    finally:
        views.close()
