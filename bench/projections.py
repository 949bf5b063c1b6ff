"""How fast do the read models follow the log?

1. rebuild: project a log of 1,000,000 events from scratch, beside the raw speed
   of reading the same log with the library (`select_notifications`) in the same
   run, just before and just after each rebuild. Target: at least a third of the
   raw read speed. The summary gives the best raw read beside the best rebuild,
   and the median of the runs' own ratios (rebuild against the mean raw read time).

       .venv/bin/python -m bench.projections rebuild --events 1000000
       .venv/bin/python -m bench.projections rebuild --events 1000000 --processes both
       .venv/bin/python -m bench.projections rebuild --database-url postgresql://...

2. freshness: 1,000 writes/s while 500 SSE clients are connected (most watching
   one thread each, some the whole jam); the time from a write's acknowledgement
   to its update arriving at a client, p50 / p99. Target: p99 at most 100 ms.

       .venv/bin/python -m bench.projections freshness --rate 1000 --clients 500

The server runs in this process on the embedded default (as `jam demo` does),
so writes wake the projection in-process; the SSE clients run in a second
process so their work does not slow the server's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from domain import Comment, Forum, Idea, Invite, Jam, Participant, Vote
from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings
from projections.db import PostgresViews, SQLiteViews, ViewDatabase
from projections.projector import Projector
from projections.runner import ProjectionRunner

SEGMENTS = ("employee", "client", "family", "partner")
FORUMS = [
    Forum.checked(s, t)
    for s, t in (("work", "Work"), ("health", "Health"), ("cities", "Cities"), ("planet", "Planet"))
]
WORDS = [
    "team",
    "remote",
    "office",
    "budget",
    "clinic",
    "bike",
    "solar",
    "train",
    "learning",
    "mentor",
    "garden",
    "water",
    "grid",
]


_POSITIONS = re.compile(rb'"position":(\d+)')


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def generate(app: JamApplication, events: int, seed: int = 7) -> int:
    """A realistic log of about `events` events (10% ideas, 20% comments, 70% votes)."""
    rng = random.Random(seed)
    t = datetime(2030, 5, 1, 9, tzinfo=UTC)
    invite = Invite.issue(
        code="op", role="organizer", segment="employee", jam_id=None, uses=1, by=None, at=t
    )
    organizer = Participant.join(participant_id=uuid4(), invite=invite, display_name="Org", at=t)
    jam = Jam.create(
        jam_id=uuid4(),
        title="Bench jam",
        description="",
        forums=FORUMS,
        starts_at=t,
        ends_at=t + timedelta(hours=72),
        by=organizer,
        at=t,
    )
    app.save(invite, organizer, jam)
    people_n = max(100, events // 200)
    people = []
    batch: list = []
    for i in range(people_n):
        inv = Invite.issue(
            code=f"p{i}",
            role="participant",
            segment=SEGMENTS[i % 4],
            jam_id=jam.id,
            uses=1,
            by=None,
            at=t,
        )
        person = Participant.join(participant_id=uuid4(), invite=inv, display_name=f"P{i}", at=t)
        people.append(person)
        batch += [inv, person]
    app.save(*batch)
    ideas: list[Idea] = []
    comments: list[Comment] = []
    ballots: set[tuple[int, int]] = set()
    written = 3 + 2 * people_n
    step = timedelta(hours=70) / events
    now = t
    batch = []
    while written < events:
        now = t + step * written
        roll = rng.random()
        author = rng.choice(people)
        if roll < 0.10 or len(ideas) < 50:
            idea = Idea.post(
                idea_id=uuid4(),
                jam=jam,
                author=author,
                forum=rng.choice(FORUMS).slug,
                title=_text(rng, 6),
                body=_text(rng, 40),
                at=now,
            )
            ideas.append(idea)
            batch.append(idea)
        elif roll < 0.30:
            idea = ideas[int(len(ideas) * rng.random() ** 2)]
            parent = rng.choice(comments) if comments and rng.random() < 0.3 else None
            if parent is not None and parent.idea_id != idea.id:
                parent = None
            comment = Comment.post(
                comment_id=uuid4(),
                idea=idea,
                jam=jam,
                author=author,
                parent=parent,
                body=_text(rng, 15),
                at=now,
            )
            comments.append(comment)
            batch.append(comment)
        else:
            i, p = int(len(ideas) * rng.random() ** 2), rng.randrange(people_n)
            if (i, p) in ballots:
                continue
            ballots.add((i, p))
            batch.append(
                Vote.cast(
                    idea=ideas[i],
                    jam=jam,
                    voter=people[p],
                    value=1 if rng.random() < 0.8 else -1,
                    at=now,
                )
            )
        written += 1
        if len(batch) >= 5000:
            app.save(*batch)
            batch = []
            if len(comments) > 20000:
                comments = comments[-5000:]
    if batch:
        app.save(*batch)
    return app.position()


def _schema(url: str, name: str, *, drop: bool = False) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        statement = "DROP SCHEMA IF EXISTS {} CASCADE" if drop else "CREATE SCHEMA {}"
        conn.execute(statement.format(f'"{name}"'))


def _raw_read(app: JamApplication, page: int) -> tuple[int, float, float]:
    """Read the whole log with the library: (events, seconds, CPU seconds)."""
    t0, cpu0 = time.perf_counter(), time.thread_time()
    start, seen = 1, 0
    while notifications := app.recorder.select_notifications(start, page):
        seen += len(notifications)
        start = notifications[-1].id + 1
    return seen, time.perf_counter() - t0, time.thread_time() - cpu0


def _cpu() -> float:
    """CPU seconds of this process and of its finished children: on the embedded
    default a large rebuild projects a share of the votes in a second process."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


# --processes: "auto" lets the runner choose (two processes on SQLite from
# projections.runner.SPLIT_MIN events), "one" keeps it to one, "both" alternates the
# two in each repeat, so the one-process rebuild is a baseline in the same run.
MODES = {"auto": ("auto",), "one": ("one",), "both": ("auto", "one")}


def rebuild(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="openjam-bench-"))
    url = args.database_url
    tag = uuid4().hex[:10]
    modes = MODES[args.processes]
    # Alternate which mode goes first, so neither always follows the other.
    plan = [m for attempt in range(args.repeat) for m in modes[:: 1 - 2 * (attempt % 2)]]
    schemas = [f"bench_{tag}_{what}" for what in ("log", *map(str, range(len(plan))))]
    try:
        if url:
            for name in schemas:
                _schema(url, name)
        app = JamApplication(
            Settings(
                data_dir=folder, group_commit=False, database_url=url, database_schema=schemas[0]
            )
        )
        t0 = time.perf_counter()
        total = generate(app, args.events)
        print(f"generated {total:,} events in {time.perf_counter() - t0:.0f} s")
        _raw_read(app, args.page)  # untimed: the log in the OS page cache for every run
        rows: dict[str, list[tuple[float, float, float]]] = {m: [] for m in modes}
        for number, mode in enumerate(plan):
            # The raw read just before and just after each rebuild, so the load on a
            # shared machine weighs on both sides of the run's ratio alike.
            before = _raw_read(app, args.page)
            views: ViewDatabase = (
                PostgresViews(url, schemas[1 + number])
                if url
                else SQLiteViews(folder / f"views-{number}.sqlite3")
            )
            runner = ProjectionRunner(
                app.recorder,
                views,
                Projector(app.mapper.transcoder.views_decoder),
                page_size=args.page,
                **({"split_min": sys.maxsize} if mode == "one" else {}),
            )
            t0, cpu0 = time.perf_counter(), _cpu()
            runner.rebuild()
            built, cpu = time.perf_counter() - t0, _cpu() - cpu0
            views.close()
            # The runner keeps idea state in memory; alive, it would slow the next read's
            # allocations (the collector walks it), so the read after would not be fair.
            del runner, views
            gc.collect()
            after = _raw_read(app, args.page)
            seen = before[0]
            raw = (before[1] + after[1]) / 2
            rows[mode].append((seen / before[1], seen / after[1], total / built))
            print(
                f"run {number + 1} ({mode}): raw read {seen / before[1]:,.0f}/s before, "
                f"{seen / after[1]:,.0f}/s after; rebuild {total / built:,.0f}/s "
                f"(ratio {raw / built:.2f} to the mean raw time); CPU per event: raw read "
                f"{(before[2] + after[2]) / 2 / seen * 1e6:.1f} us, rebuild "
                f"{cpu / total * 1e6:.1f} us (all threads and processes); "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        print()
        print(
            "| log | processes | raw read (library) | rebuild (all read models) | ratio "
            "| per run (median) |"
        )
        print("|---|---|---|---|---|---|")
        log = f"{total:,} events, {'PostgreSQL' if url else 'SQLite'}"
        for mode, mode_rows in rows.items():
            raw_best = max(max(r[0], r[1]) for r in mode_rows)
            rebuild_best = max(r[2] for r in mode_rows)
            per_run = [r[2] * (1 / r[0] + 1 / r[1]) / 2 for r in mode_rows]
            print(
                f"| {log} | {mode} | {raw_best:,.0f}/s | {rebuild_best:,.0f}/s "
                f"| {rebuild_best / raw_best:.2f} | {statistics.median(per_run):.2f} |"
            )
        app.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if url:
            for name in schemas:
                _schema(url, name, drop=True)


# Freshness
async def _client(
    host: str, port: int, path: str, after: int, token: str, got: list, stop: asyncio.Event
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nLast-Event-ID: {after}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    await writer.drain()
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                now = time.time()
                got.extend((int(p), now) for p in _POSITIONS.findall(line))
    finally:
        writer.close()


async def _clients_main(spec: dict) -> None:
    stop = asyncio.Event()
    received: list[list] = [[] for _ in spec["paths"]]
    tasks = [
        asyncio.create_task(
            _client(
                spec["host"], spec["port"], path, spec["after"], spec["token"], received[i], stop
            )
        )
        for i, path in enumerate(spec["paths"])
    ]
    await asyncio.sleep(0.5)
    print("CONNECTED", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    Path(spec["out"]).write_text(json.dumps(received))


def freshness(args: argparse.Namespace) -> None:
    import uvicorn

    from ui.app import create_app
    from ui.auth import issue_token, secret_key

    folder = Path(tempfile.mkdtemp(prefix="openjam-fresh-"))
    settings = Settings(data_dir=folder, port=args.port)
    app = JamApplication(settings)
    try:
        now = app.now()
        org_code, org = "org", uuid4()
        app.handle(c.IssueInvite(code=org_code, role="organizer"))
        app.handle(c.JoinJam(invite_code=org_code, participant_id=org, display_name="Org"))
        jam_id = uuid4()
        app.handle(
            c.CreateJam(
                actor=org,
                jam_id=jam_id,
                title="Fresh",
                description="",
                forums=(c.ForumSpec("health", "Health"),),
                starts_at=now - timedelta(minutes=1),
                ends_at=now + timedelta(hours=72),
            )
        )
        people = []
        for i in range(200):
            app.handle(
                c.IssueInvite(
                    code=f"p{i}", role="participant", segment=SEGMENTS[i % 4], jam_id=jam_id
                )
            )
            pid = uuid4()
            app.handle(c.JoinJam(invite_code=f"p{i}", participant_id=pid, display_name=f"P{i}"))
            people.append(pid)
        ideas = []
        for i in range(args.threads_watched):
            idea = uuid4()
            app.handle(
                c.PostIdea(
                    actor=people[i % 200],
                    jam_id=jam_id,
                    idea_id=idea,
                    forum="health",
                    title=f"Idea {i}",
                    body="Body",
                )
            )
            ideas.append(idea)

        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, jam=app), host="127.0.0.1", port=args.port, log_level="warning"
            )
        )
        serving = threading.Thread(target=server.run, daemon=True)
        serving.start()
        while not server.started:
            time.sleep(0.05)

        rng = random.Random(3)
        jam_clients = max(1, args.clients // 50)
        paths = [f"/api/jams/{jam_id}/stream"] * jam_clients + [
            f"/api/ideas/{rng.choice(ideas)}/stream" for _ in range(args.clients - jam_clients)
        ]
        out = folder / "received.json"
        spec = {
            "host": "127.0.0.1",
            "port": args.port,
            "paths": paths,
            "after": app.position(),
            # The streams are for the jam's members: the clients read as one of them.
            "token": issue_token(secret_key(settings), people[0]),
            "out": str(out),
        }
        clients = subprocess.Popen(
            [sys.executable, "-m", "bench.projections", "_clients", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert clients.stdout.readline().strip() == "CONNECTED"

        acks: dict[int, float] = {}
        lock = threading.Lock()
        end = time.monotonic() + args.seconds
        per_thread = args.rate / args.writers

        counted = [0] * args.writers

        def write(k: int) -> None:
            wrng = random.Random(k)
            mine = people[k :: args.writers]  # each writer acts for its own people
            last: dict[tuple[UUID, UUID], int] = {}
            next_at = time.monotonic()
            while next_at < end:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                idea, who = wrng.choice(ideas), wrng.choice(mine)
                if wrng.random() < 0.75:
                    # Flip the vote each time, so every write records an event.
                    value = -last.get((who, idea), -1)
                    last[(who, idea)] = value
                    cmd: c.Command = c.CastVote(actor=who, idea_id=idea, value=value)
                else:
                    cmd = c.PostComment(actor=who, comment_id=uuid4(), idea_id=idea, body="Live")
                done = app.handle(cmd)
                with lock:
                    acks[done.position] = time.time()
                counted[k] += 1
                next_at += 1 / per_thread

        writers = [threading.Thread(target=write, args=(k,)) for k in range(args.writers)]
        started = time.monotonic()
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        achieved = sum(counted) / (time.monotonic() - started)
        time.sleep(1.0)  # let the last updates arrive before the clients stop
        clients.stdin.write("\n")
        clients.stdin.flush()
        clients.wait(timeout=60)
        server.should_exit = True
        serving.join(timeout=60)  # its projection stops before the store closes below

        received = json.loads(out.read_text())
        lat_all, lat_jam = [], []
        for i, events in enumerate(received):
            for position, t in events:
                if position in acks:
                    ms = (t - acks[position]) * 1000
                    lat_all.append(ms)
                    if i < jam_clients:
                        lat_jam.append(ms)

        def pct(xs: list[float], q: float) -> float:
            return (
                statistics.quantiles(xs, n=1000)[int(q * 10) - 1] if len(xs) > 1 else float("nan")
            )

        print(f"writes acknowledged: {len(acks):,} at {achieved:,.0f}/s")
        print(f"deliveries measured: {len(lat_all):,}")
        print()
        print("| clients | writes/s | deliveries | p50 ms | p99 ms |")
        print("|---|---|---|---|---|")
        who = f"{args.clients} ({jam_clients} on the jam stream)"
        p50, p99 = pct(lat_all, 50), pct(lat_all, 99)
        print(f"| {who} | {achieved:,.0f} | {len(lat_all):,} | {p50:.1f} | {p99:.1f} |")
        if lat_jam:
            p50, p99 = pct(lat_jam, 50), pct(lat_jam, 99)
            print(f"| jam-stream clients only | | {len(lat_jam):,} | {p50:.1f} | {p99:.1f} |")
    finally:
        app.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("rebuild")
    r.add_argument("--events", type=int, default=1_000_000)
    r.add_argument("--page", type=int, default=5000)
    r.add_argument("--repeat", type=int, default=2)
    r.add_argument(
        "--processes",
        choices=sorted(MODES),
        default="auto",
        help="auto: as the runner chooses; one: one process; both: alternate auto and one",
    )
    r.add_argument(
        "--database-url",
        help="PostgreSQL (postgresql://...) for the log and the read models; default SQLite",
    )
    r.set_defaults(run=rebuild)
    f = sub.add_parser("freshness")
    f.add_argument("--rate", type=float, default=1000)
    f.add_argument("--clients", type=int, default=500)
    f.add_argument("--seconds", type=float, default=20)
    f.add_argument("--writers", type=int, default=64)
    f.add_argument("--threads-watched", type=int, default=200)
    f.add_argument("--port", type=int, default=8391)
    f.set_defaults(run=freshness)
    cl = sub.add_parser("_clients")
    cl.add_argument("spec")
    cl.set_defaults(run=lambda a: asyncio.run(_clients_main(json.loads(a.spec))))
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
