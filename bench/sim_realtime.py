"""Real-time mode: a real `jam serve` against the bare ceiling, in the same run.

Phases, each with the server and the client as separate processes, measured
from /proc:
1. ceiling: the bare litestar app (bench/sim_bare.py), closed loop on GET /ping;
2. reads: OpenJam, closed loop on its two main reads (an idea list, a thread);
3. mix: OpenJam, participants doing the jam's action mix with no think time;
4. ceiling again, so a drift of the shared machine shows;
5. jam: OpenJam, participants arriving along the diurnal curve with think time and
   an SSE stream open each: latencies, events/s, freshness and projection lag.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench.sim_clients import WRITES
from bench.sim_plan import SEGMENTS
from bench.sim_procs import MB, Sampler, run_watched
from bench.sim_store import fresh_store
from jam import commands as c
from jam.application import JamApplication
from jam.demo import seed
from jam.invites import new_invite_code
from jam.settings import Settings


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class Run:
    def __init__(self, args: argparse.Namespace, store: dict[str, str], sampler: Sampler) -> None:
        self.args = args
        self.sampler = sampler
        self.env = {
            **os.environ,
            **store,
            # Every simulated participant writes far below the limit in real life; in the
            # closed-loop mix they would hit it and get cheap 429s instead of real writes.
            "OPENJAM_WRITES_PER_MINUTE": "1000000",
            "OPENJAM_SECRET_KEY": "load-simulation",
        }
        if args.redis_url:
            self.env["OPENJAM_REDIS_URL"] = args.redis_url
        self.rows: list[dict] = []

    def seed(self) -> dict:
        settings = Settings.from_env(self.env)
        app = JamApplication(settings)
        try:
            demo = seed(app, people=400, ideas=400, comments=1200, votes=6000)
            invites = {}
            for segment in SEGMENTS:
                code = new_invite_code()
                app.handle(
                    c.IssueInvite(
                        code=code,
                        role="participant",
                        segment=segment,
                        jam_id=demo.jam_id,
                        uses=100_000,
                    )
                )
                invites[segment] = code
            jam = app.repository.get(demo.jam_id)
            assert jam.ends_at - app.now() > timedelta(minutes=10)
            return {"jam_id": str(demo.jam_id), "invites": invites}
        finally:
            app.close()

    # Plain requests for setting up and checking, outside the measured client.
    def call(self, method: str, path: str, body: object = None, token: str = "") -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=10)
        try:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            conn.request(method, path, None if body is None else json.dumps(body), headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            conn.close()

    def get(self, path: str, token: str) -> Any:
        status, body = self.call("GET", path, token=token)
        assert status == 200, (status, body)
        return body

    def sign_in(self, code: str) -> str:
        body = {"invite_code": code, "display_name": "Reader"}
        status, answer = self.call("POST", "/api/session", body)
        assert status == 201, (status, answer)
        return answer["token"]

    def wait_up(self, path: str, server: subprocess.Popen, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            try:
                if self.call("GET", path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{path} did not come up in {timeout_s} s")

    def serve(self, argv: list[str], health: str) -> subprocess.Popen:
        # The access log is written as `jam serve` writes it, only not kept.
        if self.args.server_cpus:  # e.g. "1": the work per request, without a second core
            argv = ["taskset", "--cpu-list", self.args.server_cpus, *argv]
        server = subprocess.Popen(
            argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.wait_up(health, server)
        return server

    def bare(self) -> subprocess.Popen:
        argv = [sys.executable, "-m", "bench.sim_bare", "--port", str(self.args.port)]
        return self.serve([*argv, "--workers", str(self.args.workers)], "/ping")

    def openjam(self) -> subprocess.Popen:
        argv = [sys.executable, "-m", "jam.cli", "serve", "--port", str(self.args.port)]
        return self.serve([*argv, "--workers", str(self.args.workers)], "/health")

    def with_server(self, start: Callable[[], subprocess.Popen], work: Callable) -> Any:
        server = start()
        try:
            return work(server)
        finally:
            _stop(server)

    def phase(self, name: str, server: subprocess.Popen, spec: dict, fresh: bool = False) -> dict:
        spec = {"host": "127.0.0.1", "port": self.args.port, **spec}
        if fresh:  # participants' streams start from the log's current end
            spec["position"] = self.call("GET", "/health")[1]["position"]
        print(f"phase {name} ...", flush=True)
        self.sampler.watch("server", server.pid)
        argv = [sys.executable, "-m", "bench.sim_clients", json.dumps(spec)]
        client = run_watched(self.sampler, "client", argv, dict(os.environ), echo=False)
        self.sampler.sample()
        result = json.loads(client.stdout)
        result["phase"] = name
        result["server_cpu"] = self.sampler.cpu_percent("server")
        result["server_rss"] = self.sampler.watched["server"].peak_rss
        result["client_cpu"] = 100 * client.cpu_s / client.seconds
        result["client_rss"] = client.peak_rss
        self.sampler.forget("server")
        self.rows.append(result)
        print(f"  {result['per_s']:,.0f} requests/s, server CPU {result['server_cpu']:.0f}%")
        return result


def realtime(args: argparse.Namespace) -> int:
    with fresh_store(args.database_url) as store, Sampler() as sampler:
        run = Run(args, store, sampler)
        jam = run.seed()
        closed = {"kind": "closed", "connections": args.connections, "seconds": args.burst}
        ping = {**closed, "paths": [["GET /ping", "/ping"]]}
        run.with_server(run.bare, lambda server: run.phase("ceiling", server, ping))
        people = run.with_server(run.openjam, lambda server: _reads_and_mix(run, server, jam))
        run.with_server(run.bare, lambda server: run.phase("ceiling again", server, ping))
        live = {
            **people,
            "clients": args.clients,
            "seconds": args.seconds,
            "arrival_share": 0.5,
            "think": args.think,
        }
        run.with_server(run.openjam, lambda server: run.phase("jam", server, live, fresh=True))
    _report(args, run.rows)
    return 0


def _reads_and_mix(run: Run, server: subprocess.Popen, jam: dict) -> dict:
    """Closed loops on OpenJam's main reads, then on the participants' whole mix."""
    args = run.args
    segments = list(jam["invites"].values())
    tokens = [run.sign_in(segments[k % len(segments)]) for k in range(args.connections)]
    token = tokens[0]
    listing = f"/api/jams/{jam['jam_id']}/ideas?sort=hot&limit=20"
    ideas = [i["id"] for i in run.get(listing, token)]
    # Half list pages, half threads: what a reader does between two writes.
    reads = [
        p for i in ideas for p in (["GET ideas list", listing], ["GET thread", f"/api/ideas/{i}"])
    ]
    closed = {"kind": "closed", "connections": args.connections, "seconds": args.burst}
    run.phase("reads", server, {**closed, "paths": reads, "tokens": tokens})
    people = {**jam, "kind": "jam", "ideas": ideas, "arrival_share": 0.0, "think": 0.0}
    mix = {"clients": args.connections, "seconds": args.burst}
    if args.writes_only:  # what the write path alone sustains (no reads in the loop)
        mix["actions"] = WRITES
    run.phase("mix", server, {**people, **mix}, fresh=True)
    return people


def _per_cpu_s(row: dict) -> float:
    return row["per_s"] / max(row["server_cpu"] / 100, 1e-9)


def _report(args: argparse.Namespace, rows: list[dict]) -> None:
    by = {r["phase"]: r for r in rows}
    ceiling = (by["ceiling"]["per_s"] + by["ceiling again"]["per_s"]) / 2
    print()
    print(
        f"{args.workers} worker(s), store {'PostgreSQL' if args.database_url else 'SQLite'}; "
        f"{args.connections} connections in the closed-loop phases ({args.burst:.0f} s each)"
    )
    print()
    # The machine is shared: requests per CPU-second of the server is the steadier figure.
    efficiency = sum(_per_cpu_s(by[n]) for n in ("ceiling", "ceiling again")) / 2
    print(
        "| phase | requests/s | / ceiling | server CPU % | requests per server CPU-s "
        "| / ceiling | server RSS MB | client RSS MB | client CPU % |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['phase']} | {r['per_s']:,.0f} | {r['per_s'] / ceiling:.2f} "
            f"| {r['server_cpu']:.0f} | {_per_cpu_s(r):,.0f} | {_per_cpu_s(r) / efficiency:.2f} "
            f"| {r['server_rss'] / MB:,.0f} | {r['client_rss'] / MB:,.0f} | {r['client_cpu']:.0f} |"
        )
    for name in ("reads", "mix", "jam"):
        r = by[name]
        print()
        print(f"{name}: per endpoint (failed connections: {r['failures']})")
        print()
        print("| endpoint | requests | per s | p50 ms | p99 ms | statuses |")
        print("|---|---:|---:|---:|---:|---|")
        for label, e in r["endpoints"].items():
            statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(e["statuses"].items()))
            print(
                f"| {label} | {e['count']:,} | {e['per_s']:,.0f} | {e['p50']:.1f} "
                f"| {e['p99']:.1f} | {statuses} |"
            )
    live = by["jam"]
    f, lag = live["freshness"], live["lag_events"]
    print()
    print(
        f"jam: {live['signed_in']:,} participants signed in over {args.seconds:.0f} s, "
        f"think time {args.think} s; {live['writes_acknowledged']:,} writes acknowledged; "
        f"{live['events_per_s']:,.0f} events/s"
    )
    print(
        f"live freshness (write ack -> SSE arrival, {f['deliveries']:,} deliveries): "
        f"p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms; projection lag (log end - newest "
        f"streamed position, {lag['samples']} samples): "
        f"p50 {lag['p50']:.0f}, max {lag['max']} events"
    )
