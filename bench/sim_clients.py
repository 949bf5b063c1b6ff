"""The simulated participants of the real-time mode, in their own process.

Two ways to load a server, both on the same client machinery:

- closed: `connections` loops, each sending the next request as soon as the last
  one is answered, over a fixed list of GET paths (the bare ceiling, or OpenJam's
  read endpoints);
- jam: participants arriving along the jam's diurnal curve (compressed into the
  window); each signs in with an invite code of their segment, keeps the jam's SSE
  stream open, and reads lists, opens threads, votes, comments, replies and posts
  ideas, with an exponential think time between actions (0: as fast as answers come).

Prints one JSON object: per-endpoint counts, statuses and latencies, and for the
jam: writes acknowledged, live freshness (write ack -> SSE arrival), the read
models' lag behind the log in events and seconds (from /ready), the streams' lag
(log end -> newest position seen on the streams) and events/s.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

import msgspec

from bench.sim_http import Connection, HttpError, follow_stream
from bench.sim_plan import ArrivalCurve, Writer

FRESHNESS_CLIENTS = 25  # deliveries are recorded for this many streams (enough for p99)
LAG_INTERVAL_S = 0.5  # between two looks at the log's end and the read models' lag
ACTIONS = {  # a participant's next action, by weight
    "list": 35,
    "thread": 33,
    "vote": 15,
    "comment": 8,
    "idea": 4,
    "me": 5,
}
WRITES = {kind: ACTIONS[kind] for kind in ("vote", "comment", "idea")}
SORTS = ("new", "top", "hot", "discussed")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    failures: int = 0

    def record(self, label: str, status: int, seconds: float) -> None:
        self.latencies[label].append(seconds * 1000)
        self.statuses[label][status] += 1

    def summary(self, wall: float) -> dict:
        rows = {}
        for label, xs in sorted(self.latencies.items()):
            rows[label] = {
                "count": len(xs),
                "per_s": len(xs) / wall,
                "p50": percentile(xs, 50),
                "p99": percentile(xs, 99),
                "statuses": dict(self.statuses[label]),
            }
        total = sum(len(xs) for xs in self.latencies.values())
        return {
            "requests": total,
            "per_s": total / wall,
            "failures": self.failures,
            "endpoints": rows,
        }


def percentile(xs: list[float], q: float) -> float:
    if len(xs) < 2:
        return xs[0] if xs else float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[int(q) - 1]


async def timed(tally: Tally, conn: Connection, label: str, method: str, path: str, body=None):
    t0 = time.perf_counter()
    try:
        status, data = await conn.request(method, path, body)
    except HttpError:
        tally.failures += 1
        return 0, b""
    tally.record(label, status, time.perf_counter() - t0)
    return status, data


async def closed(spec: dict) -> dict:
    tally = Tally()
    host, port, paths = spec["host"], spec["port"], spec["paths"]
    tokens = spec.get("tokens") or []
    end = time.monotonic() + spec["seconds"]

    async def loop(k: int) -> None:
        # Each connection is its own signed-in reader, as in real use.
        headers = {"Authorization": f"Bearer {tokens[k % len(tokens)]}"} if tokens else {}
        conn = Connection(host, port, headers)
        i = k
        while time.monotonic() < end:
            label, path = paths[i % len(paths)]
            await timed(tally, conn, label, "GET", path)
            i += 1
        conn.close()

    started = time.monotonic()
    await asyncio.gather(*(loop(k) for k in range(spec["connections"])))
    return tally.summary(time.monotonic() - started)


class Jam:
    """What the participants share: the tally, acknowledgements and stream arrivals."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.tally = Tally()
        self.acks: dict[int, float] = {}
        self.arrivals: list[tuple[int, float]] = []
        self.newest_seen = 0
        self.stop = asyncio.Event()
        self.signed_in = 0
        self.lag: list[int] = []  # log end - newest position the streams showed
        # Read models behind the log: events, seconds since the oldest write they lack was
        # acknowledged, and the seconds the app itself reports (ui/health.py).
        self.read_lag: list[tuple[int, float, float]] = []

    def newest_known(self) -> int:
        return max(self.newest_seen, max(self.acks, default=0), self.spec["position"])

    def on_positions(self, recorded: bool):
        def seen(positions: list[int], at: float) -> None:
            if positions:
                self.newest_seen = max(self.newest_seen, positions[-1])
                if recorded:
                    self.arrivals += [(p, at) for p in positions]

        return seen


async def participant(jam: Jam, k: int, start_at: float, end: float) -> None:
    spec = jam.spec
    rng = random.Random(k)
    text = Writer(rng)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    conn = Connection(spec["host"], spec["port"])
    segment = text.segment()
    status, data = await timed(
        jam.tally,
        conn,
        "POST /api/session",
        "POST",
        "/api/session",
        {"invite_code": spec["invites"][segment], "display_name": f"Sim {k}"},
    )
    if status != 201:
        return
    jam.signed_in += 1
    token = msgspec.json.decode(data)["token"]
    conn.headers["Authorization"] = f"Bearer {token}"
    jam_id = spec["jam_id"]
    stream = asyncio.create_task(
        follow_stream(
            spec["host"],
            spec["port"],
            f"/api/jams/{jam_id}/stream",
            # From what the jam has shown so far: freshness is about live updates, not catch-up.
            {"Authorization": f"Bearer {token}", "Last-Event-ID": str(jam.newest_known())},
            jam.on_positions(k < FRESHNESS_CLIENTS),
            jam.stop,
        )
    )
    ideas: list[str] = spec["ideas"]
    thread_comments: list[str] = []
    idea = rng.choice(ideas)
    actions = spec.get("actions") or ACTIONS
    kinds, weights = list(actions), list(actions.values())
    think = spec["think"]
    while time.monotonic() < end:
        kind = rng.choices(kinds, weights)[0]
        if kind == "list":
            path = f"/api/jams/{jam_id}/ideas?sort={rng.choice(SORTS)}&limit=20"
            status, data = await timed(jam.tally, conn, "GET ideas list", "GET", path)
            if status == 200:
                listed = [i["id"] for i in msgspec.json.decode(data)]
                if listed:
                    ideas = listed
        elif kind == "thread":
            idea = rng.choice(ideas)
            status, data = await timed(jam.tally, conn, "GET thread", "GET", f"/api/ideas/{idea}")
            if status == 200:
                thread_comments = [c["id"] for c in msgspec.json.decode(data)["comments"]]
        elif kind == "me":
            await timed(jam.tally, conn, "GET my activity", "GET", "/api/me/activity")
        else:
            await write(jam, conn, rng, text, kind, idea, thread_comments)
        if think:
            await asyncio.sleep(rng.expovariate(1 / think))
    conn.close()
    await jam.stop.wait()
    stream.cancel()


async def write(jam, conn, rng, text, kind: str, idea: str, comments: list[str]) -> None:
    if kind == "vote":
        label, method, path = "PUT vote", "PUT", f"/api/ideas/{idea}/vote"
        body: dict = {"value": 1 if rng.random() < 0.82 else -1}
    elif kind == "comment":
        label, method, path = "POST comment", "POST", f"/api/ideas/{idea}/comments"
        body = {"body": text.comment()}
        if comments and rng.random() < 0.35:
            body["parent_id"] = rng.choice(comments)
    else:
        forum, title, idea_body = text.idea()
        label, method, path = "POST idea", "POST", f"/api/jams/{jam.spec['jam_id']}/ideas"
        body = {"forum": forum, "title": title, "body": idea_body}
    status, data = await timed(jam.tally, conn, label, method, path, body)
    if status in (200, 201):
        jam.acks[msgspec.json.decode(data)["position"]] = time.time()


async def watch_lag(jam: Jam, end: float) -> tuple[int, int]:
    """Sample, twice a second, the log's end and the read models' lag (from /ready), and the
    log's end against the newest position the streams showed."""
    conn = Connection(jam.spec["host"], jam.spec["port"])
    first = last = 0
    while time.monotonic() < end:
        asked = time.time()
        status, data = await conn.request("GET", "/ready")
        lag = msgspec.json.decode(data).get("lag") if status in (200, 503) else None
        if lag is not None:
            last = lag["log_position"]
            # How long ago the oldest write the read models lack was acknowledged: it was in
            # the log by then. Not limited to the time between looks, as the app's figure is.
            missing = [at for p, at in jam.acks.items() if p > lag["projected"] and at < asked]
            waited = asked - min(missing) if missing else 0.0
            jam.read_lag.append((lag["events"], waited, lag["seconds"]))
        else:  # the read models could not be read: the log's end alone
            status, data = await conn.request("GET", "/health")
            if status == 200:
                last = msgspec.json.decode(data)["position"]
        if last:
            first = first or last
            if jam.newest_seen:
                jam.lag.append(max(0, last - jam.newest_seen))
        await asyncio.sleep(LAG_INTERVAL_S)
    conn.close()
    return first, last


async def jam_run(spec: dict) -> dict:
    jam = Jam(spec)
    curve = ArrivalCurve()
    begin = time.monotonic()
    end = begin + spec["seconds"]
    span = spec["seconds"] * spec["arrival_share"]
    jam_s = curve.hours * 3600
    starts = [
        begin + span * (curve.moment(k / spec["clients"]) - curve.start).total_seconds() / jam_s
        for k in range(spec["clients"])
    ]
    watcher = asyncio.create_task(watch_lag(jam, end))
    people = [asyncio.create_task(participant(jam, k, s, end)) for k, s in enumerate(starts)]
    first, last = await watcher
    await asyncio.sleep(1.0)  # the last writes' updates reach the streams
    jam.stop.set()
    await asyncio.gather(*people, return_exceptions=True)
    wall = time.monotonic() - begin
    fresh = [(at - jam.acks[p]) * 1000 for p, at in jam.arrivals if p in jam.acks]
    return {
        **jam.tally.summary(wall),
        "signed_in": jam.signed_in,
        "writes_acknowledged": len(jam.acks),
        "events_per_s": (last - first) / max(wall - 1.0, 1e-9),
        "freshness": {
            "deliveries": len(fresh),
            "p50": percentile(fresh, 50),
            "p99": percentile(fresh, 99),
        },
        "lag_events": {
            "samples": len(jam.lag),
            "p50": percentile([float(x) for x in jam.lag], 50),
            "max": max(jam.lag, default=0),
        },
        "read_models_lag": {
            "samples": len(jam.read_lag),
            "events_p50": percentile([float(e) for e, _, _ in jam.read_lag], 50),
            "events_max": max((e for e, _, _ in jam.read_lag), default=0),
            "seconds_p50": percentile([s for _, s, _ in jam.read_lag], 50),
            "seconds_max": max((s for _, s, _ in jam.read_lag), default=0.0),
            "reported_p50": percentile([s for _, _, s in jam.read_lag], 50),
            "reported_max": max((s for _, _, s in jam.read_lag), default=0.0),
        },
    }


def main(raw: str) -> None:
    spec = json.loads(raw)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    work = closed if spec["kind"] == "closed" else jam_run
    print(json.dumps(runner(work(spec))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
