"""How much faster is the group-commit write path than one save per command?

Concurrent client threads send a mix of commands (10% PostIdea, 20% PostComment,
70% CastVote) to `JamApplication.handle`, once with `group_commit=False` (the
library's path: one transaction per command) and once with `group_commit=True`,
each on a fresh store. Per-command latency is timed around `handle`.

    .venv/bin/python bench/write_path.py --stores sqlite,postgres

Exits non-zero only if a command or the setup fails, never for a missed target.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

from jam import commands as c
from jam.application import JamApplication
from jam.settings import Settings

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/openjam_bench"
SEGMENTS = ("employee", "client", "family", "partner")
FORUMS = (
    c.ForumSpec("future-of-work", "The future of work"),
    c.ForumSpec("health", "Health and wellbeing"),
    c.ForumSpec("green-office", "A greener office"),
)
MIX = (("idea", 10), ("comment", 20), ("vote", 70))
# Filler vocabulary for titles and bodies.
VOCABULARY = """
team remote office budget coffee meeting friday travel train learning mentor wellbeing garden
bike solar recycle canteen library parking shuttle quiet focus pilot survey onboarding badge
laptop hybrid childcare volunteer
"""
WORDS = tuple(VOCABULARY.split())


# Stores: each yields the Settings fields for a fresh, empty store, and cleans up.
@contextmanager
def sqlite_store(parent: Path | None) -> Iterator[dict[str, Any]]:
    folder = Path(tempfile.mkdtemp(prefix="openjam-bench-", dir=parent))
    try:
        yield {"data_dir": folder, "sqlite_synchronous": "FULL"}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_store(url: str) -> Iterator[dict[str, Any]]:
    import psycopg

    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (dbname,)).fetchone():
            conn.execute(f'CREATE DATABASE "{dbname}"')
    schema = f"bench_{uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield {"database_url": url, "database_schema": schema}
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# Setting the scene (untimed): an organizer, one open jam, participants, seed ideas.
@dataclass
class Scene:
    jam_id: UUID
    participants: list[UUID]
    ideas: list[UUID]


def text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:length].strip().capitalize()


def post_idea(rng: random.Random, actor: UUID, jam_id: UUID) -> c.PostIdea:
    return c.PostIdea(
        actor=actor,
        jam_id=jam_id,
        idea_id=uuid4(),
        forum=rng.choice(FORUMS).slug,
        title=text(rng, rng.randint(20, 60)),
        body=text(rng, rng.randint(200, 400)),
    )


def set_scene(app: JamApplication, rng: random.Random, participants: int, ideas: int) -> Scene:
    code = uuid4().hex
    app.handle(c.IssueInvite(code=code, role="organizer"))
    organizer = uuid4()
    app.handle(c.JoinJam(invite_code=code, participant_id=organizer, display_name="Olga"))
    jam_id = uuid4()
    start = datetime.now(tz=UTC) - timedelta(minutes=1)
    app.handle(
        c.CreateJam(
            actor=organizer,
            jam_id=jam_id,
            title="InnovationJam",
            description="Ideas worth funding",
            forums=FORUMS,
            starts_at=start,
            ends_at=start + timedelta(hours=72),
        )
    )
    codes = {}
    for segment in SEGMENTS:
        codes[segment] = uuid4().hex
        app.handle(
            c.IssueInvite(
                actor=organizer,
                code=codes[segment],
                role="participant",
                segment=segment,
                jam_id=jam_id,
                uses=participants,
            )
        )
    people = []
    for n in range(participants):
        pid = uuid4()
        segment = SEGMENTS[n % len(SEGMENTS)]
        app.handle(c.JoinJam(invite_code=codes[segment], participant_id=pid, display_name=f"P{n}"))
        people.append(pid)
    seeded = []
    for _ in range(ideas):
        command = post_idea(rng, rng.choice(people), jam_id)
        app.handle(command)
        seeded.append(command.idea_id)
    return Scene(jam_id=jam_id, participants=people, ideas=seeded)


def plan(scene: Scene, rng: random.Random, commands: int, clients: int) -> list[list[c.Command]]:
    """Each client's commands, in order.

    Clients act for disjoint sets of participants, and comment and vote only on
    seed ideas or ideas they posted themselves earlier, so every target exists
    when its command runs.
    """
    kinds = [kind for kind, share in MIX for _ in range(commands * share // 100)]
    kinds += ["vote"] * (commands - len(kinds))
    rng.shuffle(kinds)
    plans: list[list[c.Command]] = [[] for _ in range(clients)]
    targets = [list(scene.ideas) for _ in range(clients)]
    people = [scene.participants[i::clients] or scene.participants for i in range(clients)]
    for n in range(commands):
        i = n % clients
        actor = rng.choice(people[i])
        kind = kinds[n]
        command: c.Command
        if kind == "idea":
            command = post_idea(rng, actor, scene.jam_id)
            targets[i].append(command.idea_id)
        elif kind == "comment":
            command = c.PostComment(
                actor=actor,
                comment_id=uuid4(),
                idea_id=rng.choice(targets[i]),
                body=text(rng, rng.randint(60, 240)),
            )
        else:
            command = c.CastVote(
                actor=actor, idea_id=rng.choice(targets[i]), value=rng.choice((1, -1))
            )
        plans[i].append(command)
    return plans


# Running and measuring.
@dataclass
class Result:
    store: str
    path: str
    commands: int
    seconds: float
    latencies: list[float]
    errors: list[str] = field(default_factory=list)
    stats: dict[str, int] | None = None

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def drive(
    app: JamApplication, plans: list[list[c.Command]]
) -> tuple[float, list[float], list[str]]:
    latencies: list[list[float]] = [[] for _ in plans]
    errors: list[str] = []
    start = threading.Barrier(len(plans) + 1)

    def client(i: int) -> None:
        start.wait()
        mine = latencies[i]
        for command in plans[i]:
            began = time.perf_counter()
            try:
                app.handle(command)
            except Exception as exc:
                errors.append(f"{type(command).__name__}: {type(exc).__name__}: {exc}")
                continue
            mine.append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, [x for xs in latencies for x in xs], errors


def run_one(
    store: str, path: str, store_fields: dict[str, Any], args: argparse.Namespace
) -> Result:
    settings = Settings(
        **store_fields,
        group_commit=path == "group",
        commit_window_ms=args.window_ms,
    )
    rng = random.Random(args.seed)
    app = JamApplication(settings)
    try:
        scene = set_scene(app, rng, args.participants, args.seed_ideas)
        plans = plan(scene, rng, args.commands, args.clients)
        before = dict(vars(app.committer.stats)) if app.committer else None
        seconds, latencies, errors = drive(app, plans)
        stats = None
        if app.committer is not None and before is not None:
            # Counters cover the timed part only; `largest` is a maximum, kept as is.
            after = vars(app.committer.stats)
            stats = {k: v if k == "largest" else v - before[k] for k, v in after.items()}
    finally:
        app.close()
    return Result(store, path, args.commands, seconds, latencies, errors, stats)


def stores(args: argparse.Namespace, name: str) -> Any:
    if name == "sqlite":
        return sqlite_store(args.data_dir)
    if name == "postgres":
        return postgres_store(args.database_url)
    raise SystemExit(f"unknown store {name!r}: use sqlite or postgres")


def median_run(runs: list[Result]) -> Result:
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


def report(runs: list[Result], args: argparse.Namespace) -> None:
    grouped: dict[tuple[str, str], list[Result]] = {}
    for r in runs:
        grouped.setdefault((r.store, r.path), []).append(r)
    chosen = {key: median_run(rs) for key, rs in grouped.items()}
    print(
        f"\n{args.commands} commands from {args.clients} clients, commit window "
        f"{args.window_ms:g} ms, mix 10% ideas / 20% comments / 70% votes; "
        f"median of {args.repeat} run(s)\n"
    )
    print(
        f"| {'store':<8} | {'path':<6} | {'commands/s':>10} | {'p50 ms':>7} | {'p99 ms':>7} "
        f"| all runs, commands/s"
    )
    print(f"|{'-' * 10}|{'-' * 8}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 22}")
    for (store, path), r in chosen.items():
        every = ", ".join(f"{x.rate:,.0f}" for x in grouped[store, path])
        print(
            f"| {store:<8} | {path:<6} | {r.rate:>10,.0f} | "
            f"{r.percentile(50):>7.2f} | {r.percentile(99):>7.2f} | {every}"
        )
    print()
    for store in dict.fromkeys(store for store, _ in chosen):
        plain, group = chosen.get((store, "plain")), chosen.get((store, "group"))
        if plain is not None and group is not None:
            print(f"{store}: group/plain = {group.rate / plain.rate:.2f}x")
        if group is not None and group.stats is not None:
            s = group.stats
            counts = " ".join(f"{k}={v}" for k, v in s.items())
            mean = s["commands"] / s["batches"] if s.get("batches") else 0
            print(f"{store}: committer {counts} (mean batch {mean:.1f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--paths", default="plain,group", help="plain, group or both")
    parser.add_argument("--commands", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=64)
    # 64 clients and a 1 ms window did best on both stores (docs/benchmarks.md); the
    # application's own default window is Settings().commit_window_ms.
    parser.add_argument("--window-ms", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per store and path")
    parser.add_argument("--participants", type=int, default=400)
    parser.add_argument("--seed-ideas", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--data-dir", type=Path, default=None, help="parent of SQLite temp dirs")
    args = parser.parse_args(argv)
    paths = args.paths.split(",")
    if not set(paths) <= {"plain", "group"}:
        parser.error(f"unknown path in {args.paths!r}: use plain, group or both")

    runs: list[Result] = []
    # Paths alternate within each round, so drift on the machine hits both alike.
    for round_ in range(1, args.repeat + 1):
        for store in args.stores.split(","):
            for path in paths:
                print(f"round {round_}: {store} / {path} ...", file=sys.stderr, flush=True)
                with stores(args, store) as store_fields:
                    runs.append(run_one(store, path, store_fields, args))
    report(runs, args)
    failed = [e for r in runs for e in r.errors]
    if failed:
        print(f"\n{len(failed)} commands failed; first ones:", file=sys.stderr)
        for line in dict.fromkeys(failed[:20]):
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
