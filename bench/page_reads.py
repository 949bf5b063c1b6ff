"""What does an HTML page cost beside the API's cached idea list, in the same run?

Every open page with a live region fetches itself again when its jam changes, so at
the product's scale (thousands of people with a jam's ideas open) a page's cost is
paid thousands of times a change. One `jam serve` (embedded SQLite by default) on a
store seeded as the real-time simulation seeds it (bench/sim_realtime.py: the demo
jam's 400 participants, 400 ideas, 1,200 comments and 6,000 votes), and closed loops
of signed-in participants (bench/sim_clients.py), one phase after another, in rounds:

1. baseline: GET /api/jams/{id}/ideas?sort=hot&limit=20 (the API list, from the read cache);
2. jam page: GET /jams/{id} (newest first, all forums: 100 ideas);
3. thread page: GET /ideas/{id}, over the threads of the hot list's 20 ideas.

With --votes-per-s N a separate participant votes N times a second through the API
during every phase, so pages are read while the jam changes (each vote drops what
shows its idea). Each phase's requests/s is divided by the baseline's of its round;
the table gives every round and the median ratio.

    .venv/bin/python -m bench.page_reads [--seconds 10] [--rounds 3] [--votes-per-s 0]
"""

from __future__ import annotations

import argparse
import http.client
import random
import re
import statistics
import subprocess
import sys
import threading
import time

from bench.sim_procs import Sampler, cpu_seconds, descendants
from bench.sim_realtime import Run
from bench.sim_store import fresh_store

PHASES = ("baseline: API list", "jam page", "thread page")


def fetch(port: int, path: str, token: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def check_pages(run: Run, jam_id: str, ideas: list[dict], token: str) -> None:
    """The pages measured show what the API shows: 100 ideas, and a thread's title."""
    status, html = fetch(run.args.port, f"/jams/{jam_id}", token)
    assert status == 200, status
    listed = re.search(r'<ol class="ideas">(.*?)</ol>', html, re.S)
    assert listed is not None, "the jam page has its list"
    assert listed.group(1).count("<li") == 100, "the jam page lists 100 ideas"
    newest = run.get(f"/api/jams/{jam_id}/ideas?sort=new&limit=1", token)[0]
    assert f'href="/ideas/{newest["id"]}"' in listed.group(1), "the newest idea comes first"
    status, html = fetch(run.args.port, f"/ideas/{ideas[0]['id']}", token)
    assert status == 200, status
    title = ideas[0]["title"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f">{title}</h1>" in html, "the thread page shows its idea"


class Voter(threading.Thread):
    """Votes `per_s` times a second on random ideas until stopped: the jam changing."""

    def __init__(self, run: Run, token: str, ideas: list[str], per_s: float) -> None:
        super().__init__(daemon=True)
        self.run_, self.token, self.ideas, self.per_s = run, token, ideas, per_s
        self.stopped = threading.Event()
        self.votes = 0

    def run(self) -> None:
        rng = random.Random(7)
        while not self.stopped.wait(1 / self.per_s):
            idea = rng.choice(self.ideas)
            body = {"value": rng.choice((1, -1))}
            status, _ = self.run_.call("PUT", f"/api/ideas/{idea}/vote", body, self.token)
            assert status == 200, status
            self.votes += 1


def wait_idle(server: subprocess.Popen, below: float = 0.1, timeout_s: float = 180) -> float:
    """Wait until the server uses less than `below` of a core over a second: its start-up
    work (the ranking worker's first refresh of the seeded jam) would otherwise fall in
    the first phase. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = sum(cpu_seconds(p) for p in descendants(server.pid))
        time.sleep(1.0)
        if sum(cpu_seconds(p) for p in descendants(server.pid)) - before < below:
            break
    return time.monotonic() - started


def measure(run: Run, server: subprocess.Popen, jam: dict) -> list[dict]:
    args = run.args
    segments = list(jam["invites"].values())
    tokens = [run.sign_in(segments[k % len(segments)]) for k in range(args.connections)]
    jam_id = jam["jam_id"]
    listing = f"/api/jams/{jam_id}/ideas?sort=hot&limit=20"
    hot = run.get(listing, tokens[0])
    all_ideas = [i["id"] for i in run.get(f"/api/jams/{jam_id}/ideas?limit=100", tokens[0])]
    check_pages(run, jam_id, hot, tokens[0])
    print(f"server idle after {wait_idle(server):.0f} s", flush=True)
    paths = {
        PHASES[0]: [[PHASES[0], listing]],
        PHASES[1]: [[PHASES[1], f"/jams/{jam_id}"]],
        PHASES[2]: [[PHASES[2], f"/ideas/{i['id']}"] for i in hot],
    }
    voter = None
    if args.votes_per_s:
        voter = Voter(run, run.sign_in(segments[0]), all_ideas, args.votes_per_s)
        voter.start()
    closed = {"kind": "closed", "connections": args.connections, "seconds": args.seconds}
    rows = []
    try:
        for k in range(args.rounds):
            for name in PHASES:
                row = run.phase(name, server, {**closed, "paths": paths[name], "tokens": tokens})
                row["round"] = k + 1
                bad = {s: n for e in row["endpoints"].values() for s, n in e["statuses"].items()}
                bad.pop("200", None)
                assert not bad, (name, bad)
                assert not row["failures"], (name, row["failures"])
                rows.append(row)
    finally:
        if voter is not None:
            voter.stopped.set()
            voter.join()
            print(f"votes cast during the phases: {voter.votes:,}")
    return rows


def report(args: argparse.Namespace, rows: list[dict]) -> None:
    print()
    print(
        f"{args.connections} connections, {args.seconds:.0f} s a phase, {args.rounds} rounds, "
        f"{args.votes_per_s:g} votes/s meanwhile"
    )
    print()
    # The machine is shared: requests per server CPU-second is the steadier figure.
    print(
        "| round | phase | requests/s | / baseline | server CPU % | per server CPU-s "
        "| / baseline | p50 ms | p99 ms |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    ratios: dict[str, list[float]] = {name: [] for name in PHASES}
    per_cpu: dict[str, list[float]] = {name: [] for name in PHASES}
    for k in range(1, args.rounds + 1):
        mine = {r["phase"]: r for r in rows if r["round"] == k}
        base, base_cpu = mine[PHASES[0]]["per_s"], _per_cpu_s(mine[PHASES[0]])
        for name in PHASES:
            r = mine[name]
            e = r["endpoints"][name]
            ratios[name].append(r["per_s"] / base)
            per_cpu[name].append(_per_cpu_s(r) / base_cpu)
            print(
                f"| {k} | {name} | {r['per_s']:,.0f} | {r['per_s'] / base:.3f} "
                f"| {r['server_cpu']:.0f} | {_per_cpu_s(r):,.0f} | {_per_cpu_s(r) / base_cpu:.3f} "
                f"| {e['p50']:.1f} | {e['p99']:.1f} |"
            )
    print()
    print("| phase | median requests/s | median / baseline | median per CPU-s / baseline |")
    print("|---|---:|---:|---:|")
    for name in PHASES:
        per_s = statistics.median(r["per_s"] for r in rows if r["phase"] == name)
        print(
            f"| {name} | {per_s:,.0f} | {statistics.median(ratios[name]):.3f} "
            f"| {statistics.median(per_cpu[name]):.3f} |"
        )


def _per_cpu_s(row: dict) -> float:
    return row["per_s"] / max(row["server_cpu"] / 100, 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--votes-per-s", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=8410)
    parser.add_argument("--server-cpus", help="taskset's CPU list for the server, e.g. 1")
    parser.add_argument("--database-url", help="PostgreSQL instead of the embedded SQLite")
    parser.add_argument("--redis-url", help="Redis, for several workers")
    args = parser.parse_args()
    with fresh_store(args.database_url) as store, Sampler() as sampler:
        run = Run(args, store, sampler)
        jam = run.seed()
        rows = run.with_server(run.openjam, lambda server: measure(run, server, jam))
    report(args, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
