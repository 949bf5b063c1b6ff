"""The production topology as processes on one machine, against the real PostgreSQL and Redis:
`jam serve --workers 2`, `jam worker projections` and `jam worker ranking`. An idea posted
through one web worker is read through the other and arrives on a live stream, and the
ranking worker ranks it; the probes and the metrics answer for the whole server, each worker
serves its own metrics, and every process logs JSON lines."""

from __future__ import annotations

import subprocess
import time
from contextlib import ExitStack

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jam import commands as c
from jam.application import JamApplication
from jam.invites import new_invite_code
from jam.settings import Settings
from projections.db import ViewDatabase, open_views
from projections.watch import ProjectionWatch, projected_channel
from tests.ops.processes import START_S, json_lines, start, stop, wait_answering
from tests.stories import open_jam
from tests.ui.harness import SSEClient, free_port
from tests.ui.test_live import Now

pytestmark = pytest.mark.slow


def metric_samples(text: str) -> dict[str, float]:
    """Sample values keyed `name{a="x",b="y"}` (labels sorted), or `name` without labels."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def clients_on_two_workers(base: str) -> list[tuple[httpx.Client, int]]:
    """Keep-alive clients, each held by one worker process, once both workers take connections.

    The kernel hands each new connection to whichever worker accepts it first; a worker still
    starting accepts none, so this keeps opening connections until both have answered.
    """
    held: dict[int, httpx.Client] = {}
    deadline = time.monotonic() + START_S
    while len(held) < 2:
        assert time.monotonic() < deadline, f"only worker {list(held)} took connections"
        client = httpx.Client(base_url=base, timeout=10)
        pid = client.get("/ready").json()["pid"]
        if pid in held:
            client.close()
            time.sleep(0.05)  # the other worker may still be starting: nothing else to wait on
        else:
            held[pid] = client
    return [(client, pid) for pid, client in held.items()]


def test_the_topology_serves_reads_writes_streams_probes_and_metrics(tmp_path, deployment):
    env = {**deployment, "OPENJAM_SECRET_KEY": "k" * 32}
    settings = Settings.from_env(env)
    app = JamApplication(settings)
    scene = open_jam(app, Now())
    code = new_invite_code()
    app.handle(
        c.IssueInvite(code=code, role="participant", segment="employee", jam_id=scene.jam_id)
    )
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "projections", "ranking")}
    metrics_port, ranking_port, port = free_port(), free_port(), free_port()
    with ExitStack() as cleanup:
        cleanup.callback(app.close)

        def worker(name: str, metrics: int) -> subprocess.Popen[bytes]:
            """`jam worker <name>`, serving its metrics on port `metrics`."""
            env_with = {**env, "OPENJAM_METRICS_PORT": str(metrics)}
            process = start(tmp_path, env_with, logs[name], "worker", name)
            cleanup.callback(stop, process)
            return process

        projector = worker("projections", metrics_port)
        ranking = worker("ranking", ranking_port)
        web = start(tmp_path, env, logs["web"], "serve", "--workers", "2", "--port", str(port))
        cleanup.callback(stop, web)
        base = f"http://127.0.0.1:{port}"
        wait_answering(f"{base}/health", web, logs["web"])
        wait_answering(f"http://127.0.0.1:{metrics_port}/metrics", projector, logs["projections"])
        wait_answering(f"http://127.0.0.1:{ranking_port}/metrics", ranking, logs["ranking"])

        (writer, writer_pid), (reader, reader_pid) = clients_on_two_workers(base)
        for client in (writer, reader):
            cleanup.callback(client.close)
        # Both workers read the same read models: ready once the projection worker caught up.
        seen = app.position()
        channel = projected_channel(settings.database_schema)
        watch = ProjectionWatch(views_of(settings), settings.redis_url, channel)
        cleanup.callback(watch.views.close)
        assert watch.wait_for(seen, timeout=30)
        probe = reader.get("/ready")
        assert probe.status_code == 200, probe.text
        assert (probe.json()["projections"], probe.json()["redis"]) == ("external", "ok")
        assert writer.get("/health").json()["status"] == "ok"

        session = writer.post("/api/session", json={"invite_code": code, "display_name": "Ada"})
        assert session.status_code == 201, session.text
        token = session.json()["token"]
        stream = SSEClient(
            f"{base}/api/jams/{scene.jam_id}/stream", last_event_id=seen, token=token
        )
        cleanup.callback(stream.close)

        posted = writer.post(
            f"/api/jams/{scene.jam_id}/ideas",
            json={"forum": "health", "title": "Across workers", "body": "Seen everywhere"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert posted.status_code == 201, posted.text
        idea_id, position = posted.json()["id"], posted.json()["position"]

        thread = reader.get(
            f"/api/ideas/{idea_id}",
            params={"after": position},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert thread.status_code == 200, thread.text
        assert thread.json()["idea"]["title"] == "Across workers"
        assert reader.get("/ready").json()["pid"] == reader_pid != writer_pid

        notices = []  # the ranking worker's announcements, kept for below
        event = stream.next(topics=True)
        while event.kind == "topics" or event.id < position:  # the sign-in's updates come first
            if event.kind == "topics":
                notices.append(event)
            event = stream.next(topics=True)
        assert (event.id, event.kind, event.data["item_id"]) == (position, "idea", idea_id)

        # Scraped through the worker that did not take the write: the server's sums.
        scraped = reader.get("/metrics")
        assert scraped.status_code == 200
        samples = metric_samples(scraped.text)
        route = 'method="POST",route="/api/jams/{jam_id}/ideas",status="201"'
        assert samples[f"openjam_http_requests_total{{{route}}}"] == 1
        assert samples["openjam_commit_batch_commands_count"] >= 2  # sign-in and idea
        assert samples["openjam_sse_clients"] == 1
        assert samples["openjam_projection_lag_events"] >= 0
        assert "openjam_projection_lag_seconds" in samples
        latency = 'method="POST",route="/api/jams/{jam_id}/ideas"'
        assert samples[f"openjam_http_request_duration_seconds_count{{{latency}}}"] == 1
        worker_metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert "openjam_projection_lag_events" in metrics_samples_names(worker_metrics)

        # The ranking worker is another process: a leader's read waits for its refresh.
        leader = new_invite_code()
        app.handle(c.IssueInvite(code=leader, role="leader", jam_id=scene.jam_id))
        lee = reader.post("/api/session", json={"invite_code": leader, "display_name": "Lee"})
        shortlist = reader.get(
            f"/api/jams/{scene.jam_id}/shortlist",
            params={"after": position},
            headers={"Authorization": f"Bearer {lee.json()['token']}"},
        )
        assert shortlist.status_code == 200, shortlist.text
        assert [e["idea_id"] for e in shortlist.json()["shortlist"]] == [idea_id]
        assert ranking.poll() is None, logs["ranking"].read_text()

        # It announces a refresh once it has measured it: then its own metrics count it.
        refreshed = (f"{scene.jam_id}:refreshed", "topics")
        while not any(
            (n.data["item_id"], n.kind) == refreshed and n.id >= position for n in notices
        ):
            notices.append(stream.next(topics=True))
        ranked = metric_samples(httpx.get(f"http://127.0.0.1:{ranking_port}/metrics").text)
        assert ranked["openjam_cluster_refresh_seconds_count"] >= 1
        assert ranked["openjam_cluster_refresh_last_seconds"] > 0

    assert projector.returncode == 0  # stopped by SIGTERM, cleanly
    assert ranking.returncode == 0
    assert web.returncode == 0
    requests = [x for x in json_lines(logs["web"]) if x["logger"] == "openjam.access"]
    write = next(
        x
        for x in requests
        if x["method"] == "POST" and x["status"] == 201 and x["route"] == "/api/jams/{jam_id}/ideas"
    )
    assert len(write["request_id"]) == 32
    assert write["duration_ms"] >= 0
    json_lines(logs["projections"])  # every line JSON
    ranking_lines = json_lines(logs["ranking"])  # every line JSON too
    said = [(x["logger"], x["message"]) for x in ranking_lines]
    assert ("openjam.worker", "the ranking worker is starting") in said
    assert said[-1] == ("openjam.worker", "the ranking worker stopped")
    stopping = next(x for x in ranking_lines if x["message"] == "stopping the ranking worker")
    assert stopping["signal"] == "SIGTERM"


def views_of(settings: Settings) -> ViewDatabase:
    return open_views(settings.database_url, settings.database_schema, settings.data_dir)


def metrics_samples_names(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}
