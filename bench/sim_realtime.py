"""Real-time mode: a real `jam serve` against the bare ceiling, in the same run.

Phases, each with the server and the client as separate processes, measured
from /proc:
1. ceiling: the bare litestar app (bench/sim_bare.py), closed loop on GET /ping;
2. reads: OpenJam, closed loop on its two main reads (an idea list, a thread);
3. mix: OpenJam, participants doing the jam's action mix with no think time;
4. ceiling again, so a drift of the shared machine shows;
5. jam: OpenJam, participants arriving along the diurnal curve with think time and
   an SSE stream open each: latencies, events/s, freshness, projection lag (events
   and seconds) and the cluster refreshes made meanwhile.

OpenJam is either the embedded default (one `jam serve`, projecting and ranking
in-process) or, with --topology, production's processes: `jam serve --workers N`
with projections and ranking external, `jam worker projections` and `jam worker
ranking`, against PostgreSQL and Redis. Every process's CPU and peak memory is
reported on its own (uvicorn's supervisor and each worker too), and PostgreSQL's
and Redis's when they run on this machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.sim_clients import WRITES
from bench.sim_metrics import MetricsReader, RefreshWatch
from bench.sim_plan import SEGMENTS
from bench.sim_procs import MB, Sampler, Usage, listening_pid, run_watched
from bench.sim_store import fresh_store
from jam import commands as c
from jam.application import JamApplication
from jam.demo import seed
from jam.invites import new_invite_code
from jam.settings import Settings
from projections.watch import projected_channel

START_S = 120.0  # the longest a start-up step may take on a busy machine
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Servers:
    """What one start of a server put up: the web server first, then any workers."""

    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    refreshes: MetricsReader | None = None  # where the cluster refreshes are counted

    def check(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = ""
                if name in self.logs and self.logs[name].exists():
                    tail = "\n" + "\n".join(self.logs[name].read_text().splitlines()[-20:])
                raise RuntimeError(f"{name} exited with {proc.returncode}{tail}")


@dataclass
class External:
    """A server OpenJam uses, watched when it runs on this machine."""

    name: str
    pid: int | None
    note: str = ""
    keep: Callable[[str], bool] | None = None


# A PostgreSQL backend's title: "postgres: <cluster>: <user> <database> <client> <state>".
_BACKEND = re.compile(r"^postgres: (?:.*: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")


def _this_database(name: str) -> Callable[[str], bool]:
    """PostgreSQL's own processes, and the backends serving database `name`: not other
    clients' (a shared server serves others too)."""

    def keep(cmdline: str) -> bool:
        backend = _BACKEND.match(cmdline)
        return backend is None or backend.group(1) == name

    return keep


def _external(name: str, url: str | None, default_port: int) -> External | None:
    if not url:
        return None
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or default_port
    if host not in LOCAL_HOSTS:
        return External(name, None, f"at {host or 'a Unix socket'}, not a local TCP port")
    pid = listening_pid(port)
    if pid is None:
        return External(name, None, f"no process found listening on port {port}")
    if name == "PostgreSQL":
        return External(name, pid, keep=_this_database(parts.path.lstrip("/") or "postgres"))
    return External(name, pid)


class Run:
    def __init__(self, args: argparse.Namespace, store: dict[str, str], sampler: Sampler) -> None:
        self.args = args
        self.sampler = sampler
        self.topology = getattr(args, "topology", False)
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
            **store,
            # Every simulated participant writes far below the limit in real life; in the
            # closed-loop mix they would hit it and get cheap 429s instead of real writes.
            "OPENJAM_WRITES_PER_MINUTE": "1000000",
            "OPENJAM_SECRET_KEY": "load-simulation",
        }
        if args.redis_url:
            self.env["OPENJAM_REDIS_URL"] = args.redis_url
        if getattr(args, "topic_refresh", None):
            self.env["OPENJAM_TOPIC_REFRESH_S"] = str(args.topic_refresh)
        if self.topology:  # the web workers neither project nor rank: the workers do
            self.env["OPENJAM_PROJECTIONS"] = "external"
            self.env["OPENJAM_RANKING"] = "external"
        self.folder = Path(store["OPENJAM_DATA_DIR"])
        self.servers = Servers()
        self.rows: list[dict] = []
        self.startup: dict[str, Any] = {}
        externals = (
            _external("PostgreSQL", args.database_url, 5432),
            _external("Redis", args.redis_url, 6379),
        )
        self.externals = [e for e in externals if e is not None]

    def seed(self) -> dict:
        settings = Settings.from_env(self.env)
        app = JamApplication(settings)
        scale = getattr(self.args, "seed_scale", 1.0)
        try:
            demo = seed(
                app,
                people=max(8, round(400 * scale)),
                ideas=max(8, round(400 * scale)),
                comments=round(1200 * scale),
                votes=round(6000 * scale),
            )
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

    def wait_up(self, path: str, timeout_s: float = START_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.servers.check()
            try:
                if self.call("GET", path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{path} did not come up in {timeout_s} s")

    def wait_projected(self, timeout_s: float = START_S) -> None:
        """Until the read models include the whole log (a projection worker catches up)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.servers.check()
            lag = (self.call("GET", "/ready")[1] or {}).get("lag")
            if lag is not None and lag["events"] == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the read models did not catch up in {timeout_s} s")

    def launch(self, name: str, argv: list[str], env: dict[str, str], log: bool) -> None:
        # The access log is written as `jam serve` writes it, only not kept; the workers'
        # logs are kept beside the store, to show why one stopped.
        if self.args.server_cpus:  # e.g. "1": the work per request, without a second core
            argv = ["taskset", "--cpu-list", self.args.server_cpus, *argv]
        out: Any = subprocess.DEVNULL
        if log:
            self.servers.logs[name] = self.folder / f"{name.replace(' ', '-')}.log"
            out = self.servers.logs[name].open("ab")
        try:
            self.servers.procs[name] = subprocess.Popen(argv, env=env, stdout=out, stderr=out)
        finally:
            if log:
                out.close()

    def bare(self) -> subprocess.Popen:
        self.servers = Servers()
        argv = [sys.executable, "-m", "bench.sim_bare", "--port", str(self.args.port)]
        self.launch("bare app", [*argv, "--workers", str(self.args.workers)], self.env, False)
        self.wait_up("/ping")
        return self.servers.procs["bare app"]

    def openjam(self) -> subprocess.Popen:
        self.servers = Servers()
        jam = [sys.executable, "-m", "jam.cli"]
        serve = [*jam, "serve", "--port", str(self.args.port), "--workers", str(self.args.workers)]
        if self.topology:
            for role in ("projections", "ranking"):
                port = free_port()
                env = {**self.env, "OPENJAM_METRICS_PORT": str(port)}
                self.launch(f"{role} worker", [*jam, "worker", role], env, True)
                if role == "ranking":
                    self.servers.refreshes = MetricsReader(port)
        else:
            token = self.env.get("OPENJAM_METRICS_TOKEN")
            self.servers.refreshes = MetricsReader(self.args.port, token)
        self.launch("jam serve", serve, self.env, False)
        # The web server first in the report, the workers after it.
        procs = self.servers.procs
        self.servers.procs = {"jam serve": procs.pop("jam serve"), **procs}
        self.wait_up("/health")
        self.wait_projected()
        return self.servers.procs["jam serve"]

    def with_server(self, start: Callable[[], subprocess.Popen], work: Callable) -> Any:
        try:
            server = start()
            return work(server)
        finally:
            for proc in self.servers.procs.values():  # the web server first
                _stop(proc)

    def first_refresh(self) -> None:
        """Wait for the ranking's first refresh after a start: the jam phase measures the
        refreshes the participants' writes bring, not the start-up's refresh of the jam."""
        reader = self.servers.refreshes
        assert reader is not None
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            self.servers.check()
            try:
                first = reader.read()
            except OSError:  # a worker's metrics port not open yet
                first = None
            if first is not None and first.count >= 1:
                self.startup = {"first_refresh_s": first.last}
                return
            time.sleep(0.5)
        self.startup = {"first_refresh_s": math.nan}

    def phase(self, name: str, server: subprocess.Popen, spec: dict, fresh: bool = False) -> dict:
        spec = {"host": "127.0.0.1", "port": self.args.port, **spec}
        if fresh:  # participants' streams start from the log's current end
            spec["position"] = self.call("GET", "/health")[1]["position"]
        print(f"phase {name} ...", flush=True)
        ours = list(self.servers.procs) or ["server"]
        if not self.servers.procs:  # a caller's own server
            self.servers.procs["server"] = server
        for label, proc in self.servers.procs.items():
            self.sampler.watch(label, proc.pid)
        others = []
        if "jam serve" in self.servers.procs:  # the stores OpenJam's phases use
            others = [e for e in self.externals if e.pid is not None]
            for e in others:
                self.sampler.watch(e.name, e.pid, grouped=True, keep=e.keep)
        refreshes = None
        if name == "jam" and self.servers.refreshes is not None:
            refreshes = RefreshWatch(self.servers.refreshes).start()
        argv = [sys.executable, "-m", "bench.sim_clients", json.dumps(spec)]
        client = run_watched(self.sampler, "client", argv, dict(os.environ), echo=False)
        self.sampler.sample()
        result = json.loads(client.stdout)
        result["phase"] = name
        if refreshes is not None:
            result["refreshes"] = refreshes.stop()
        usage: list[Usage] = []
        for label in ours:
            usage += self.sampler.usage(label)
        result["server_cpu"] = sum(u.cpu_percent for u in usage)
        result["server_rss"] = sum(self.sampler.watched[label].peak_rss for label in ours)
        for e in others:
            usage += self.sampler.usage(e.name)
        result["processes"] = [
            *(u.__dict__ for u in usage),
            {
                "name": "client",
                "pids": [],
                "cpu_s": client.cpu_s,
                "cpu_percent": 100 * client.cpu_s / client.seconds,
                "peak_rss": client.peak_rss,
            },
        ]
        result["client_cpu"] = 100 * client.cpu_s / client.seconds
        result["client_rss"] = client.peak_rss
        for label in [*ours, *(e.name for e in others)]:
            self.sampler.forget(label)
        self.servers.check()
        self.rows.append(result)
        print(f"  {result['per_s']:,.0f} requests/s, server CPU {result['server_cpu']:.0f}%")
        return result


def realtime(args: argparse.Namespace) -> int:
    if args.topology and not (args.database_url and args.redis_url):
        sys.exit("--topology needs --database-url and --redis-url (production's stores)")
    if args.workers > 1 and not args.redis_url:
        sys.exit(f"--workers {args.workers} needs --redis-url (live updates between workers)")
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

        def jam_phase(server: subprocess.Popen) -> dict:
            run.first_refresh()
            return run.phase("jam", server, live, fresh=True)

        run.with_server(run.openjam, jam_phase)
        if args.topology:  # the projection worker's mark of what it published, for this schema
            _forget_mark(args.redis_url, store["OPENJAM_DATABASE_SCHEMA"])
    _report(args, run)
    return 0


def _forget_mark(redis_url: str, schema: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(f"{projected_channel(schema)}:published")
    finally:
        client.close()


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


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:,.0f} ms"


def _within(bounds: list[float]) -> str:
    lower, upper = bounds
    if math.isnan(lower):
        return "n/a"
    return f"{lower:g} to {upper:g} s" if not math.isinf(upper) else f"over {lower:g} s"


def _report(args: argparse.Namespace, run: Run) -> None:
    rows = run.rows
    by = {r["phase"]: r for r in rows}
    ceiling = (by["ceiling"]["per_s"] + by["ceiling again"]["per_s"]) / 2
    store = "PostgreSQL" if args.database_url else "SQLite"
    if args.topology:
        shape = (
            f"topology: `jam serve --workers {args.workers}` (projections and ranking "
            "external), `jam worker projections`, `jam worker ranking`"
        )
    else:
        shape = f"{args.workers} worker(s), projections and ranking in the web process"
    print()
    print(
        f"{shape}; store {store}{', Redis' if args.redis_url else ''}; "
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
    print()
    print("server: the bare app's or OpenJam's own processes, summed (workers included)")
    print()
    print("processes, per phase (CPU: share of one core over the phase; memory: peak resident)")
    print()
    print("| phase | process | pid | CPU % | CPU s | peak memory MB |")
    print("|---|---|---|---:|---:|---:|")
    for r in rows:
        for p in r["processes"]:
            pids = p["pids"]
            pid = str(pids[0]) if len(pids) == 1 else f"{len(pids)} processes" if pids else ""
            print(
                f"| {r['phase']} | {p['name']} | {pid} | {p['cpu_percent']:.0f} "
                f"| {p['cpu_s']:,.1f} | {p['peak_rss'] / MB:,.0f} |"
            )
    for e in run.externals:
        if e.pid is None:
            print(f"{e.name}: left out ({e.note})")
    if any(e.pid is not None for e in run.externals):
        print(
            "PostgreSQL, Redis: in OpenJam's phases, the server's processes as one row "
            "(PostgreSQL's own and the backends serving this database), memory as their "
            "summed PSS (shared pages divided among the processes sharing them); "
            "other rows: RSS"
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
    f, lag, behind = live["freshness"], live["lag_events"], live["read_models_lag"]
    print()
    print(
        f"jam: {live['signed_in']:,} participants signed in over {args.seconds:.0f} s, "
        f"think time {args.think} s; {live['writes_acknowledged']:,} writes acknowledged; "
        f"{live['events_per_s']:,.0f} events/s"
    )
    print(
        f"live freshness (write ack -> SSE arrival, {f['deliveries']:,} deliveries): "
        f"p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms"
    )
    print(
        f"projection lag (read models behind the log, /ready, {behind['samples']} samples): "
        f"p50 {behind['events_p50']:.0f}, max {behind['events_max']} events; "
        f"p50 {behind['seconds_p50']:.2f} s, max {behind['seconds_max']:.2f} s since the oldest "
        f"write they lacked was acknowledged; as the app reports it "
        f"(openjam_projection_lag_seconds, measured between its looks at the log): "
        f"p50 {behind['reported_p50']:.2f} s, max {behind['reported_max']:.2f} s"
    )
    print(
        f"stream lag (log end - newest streamed position, {lag['samples']} samples): "
        f"p50 {lag['p50']:.0f}, max {lag['max']} events"
    )
    source = "`jam worker ranking`" if args.topology else "the web server's ranking"
    refreshes = live.get("refreshes")
    first = run.startup.get("first_refresh_s", math.nan)
    if refreshes is None:
        print("cluster refresh: not measured (no metrics)")
    else:
        count = refreshes["count"]
        print(
            f"cluster refresh ({source}, openjam_cluster_refresh_seconds): first after start "
            f"{_ms(first)} (the phase began after it); in the jam phase {count} "
            f"refresh{'' if count == 1 else 'es'}, mean {_ms(refreshes['mean'])}, "
            f"max {_ms(refreshes['max'])}; "
            f"p50 {_within(refreshes['p50'])}, p99 {_within(refreshes['p99'])} "
            "(the histogram's buckets)"
        )
