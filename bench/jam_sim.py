"""Can OpenJam hold a real jam? A load simulation with people from every segment.

1. realtime: a real `jam serve` (embedded SQLite by default) and simulated
   participants for a short window, through the HTTP API: they sign in with
   invite codes, read idea lists, open threads, post, comment, vote and keep an
   SSE stream open, arriving along a diurnal curve. A bare litestar app served the
   same way, hit by the same client in the same run, gives the web stack's
   ceiling. Target: OpenJam's requests/s at least 40% of the ceiling.

       .venv/bin/python -m bench.jam_sim realtime --clients 200 --seconds 60

   With --topology, production's processes instead of the embedded default:
   `jam serve --workers N` with projections and ranking external, `jam worker
   projections` and `jam worker ranking`, against PostgreSQL and Redis.

       .venv/bin/python -m bench.jam_sim realtime --topology --workers 2 \
           --database-url postgresql://... --redis-url redis://...

2. replay: a whole jam, accelerated, into a fresh store through the write path
   (commands -> aggregates -> events, group commit, many submitters), then
   projected (`jam projections rebuild`), then clustered. Each phase is its own
   process; their peak resident memory is measured. Targets: InnovationJam 2006
   phase 1 volume (--scale 1) ingested and projected in under 10 minutes; 10x
   (--scale 10) with peak memory under 6 GB.

       .venv/bin/python -m bench.jam_sim replay --scale 1
       .venv/bin/python -m bench.jam_sim replay --scale 10 --commit-cache 1500000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench.sim_plan import Volume
from bench.sim_procs import MB, Finished, Sampler, run_watched
from bench.sim_store import fresh_store


def replay(args: argparse.Namespace) -> int:
    volume = Volume().scaled(args.scale)
    with fresh_store(args.database_url, args.tmp, keep=args.keep) as store:
        return _replay(args, volume, store)


def _replay(args: argparse.Namespace, volume: Volume, store: dict[str, str]) -> int:
    folder = Path(store["OPENJAM_DATA_DIR"])
    print(
        f"replay at scale {args.scale}: {volume.participants:,} participants, "
        f"{volume.ideas:,} ideas, {volume.comments:,} comments, {volume.votes:,} votes "
        f"({volume.commands:,} commands), {args.submitters} submitters, "
        f"committer cache {args.commit_cache or 'default'}, "
        f"store {'PostgreSQL' if args.database_url else 'SQLite'} in {folder}",
        flush=True,
    )
    spec = {
        "volume": volume.__dict__,
        "data_dir": str(folder),
        "database_url": store.get("OPENJAM_DATABASE_URL"),
        "database_schema": store.get("OPENJAM_DATABASE_SCHEMA", ""),
        "submitters": args.submitters,
        "max_seconds": args.max_seconds,
        "commit_cache": args.commit_cache,
    }
    env = {**os.environ, **store}
    child = [sys.executable, "-m", "bench.jam_sim"]
    steps = (
        ("ingest", [*child, "_ingest", json.dumps(spec)]),
        ("projection", [sys.executable, "-m", "jam.cli", "projections", "rebuild"]),
        ("clustering", [*child, "_cluster", json.dumps(spec)]),
    )
    phases: list[Finished] = []
    with Sampler() as sampler:
        for name, argv in steps:  # one after the other, each in a process of its own
            phases.append(run_watched(sampler, name, argv, env))
            if phases[-1].returncode != 0:
                print(f"{name} failed", file=sys.stderr)
                return 1
    result = json.loads(phases[0].stdout.rsplit("RESULT ", 1)[1])
    clusters = json.loads(phases[2].stdout.rsplit("RESULT ", 1)[1])
    _report(args, volume, result, clusters, phases, sampler.peak_total, folder)
    return 1 if result["failures"] else 0


def _report(
    args: argparse.Namespace,
    volume: Volume,
    result: dict,
    clusters: dict,
    phases: list[Finished],
    peak_total: int,
    folder: Path,
) -> None:
    ingest, project, clustering = phases
    events = result["position"]
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    print()
    if not result["complete"]:
        print(f"PARTIAL: ingest stopped after --max-seconds {args.max_seconds:.0f}")
    print(
        f"commands acknowledged: {result['commands']:,} of {volume.commands:,} "
        f"(refused: {result['failures'] or 'none'}); "
        f"events written: {result['events']:,}; log: {events:,} events, {disk / MB:,.0f} MB on disk"
    )
    print(
        f"group commit: {result['batches']:,} batches, mean "
        f"{result['commands'] / max(result['batches'], 1):.0f}, largest {result['largest_batch']}; "
        f"aggregates loaded from the store (not cached): {result.get('loads', 0):,}, "
        f"{result.get('loads', 0) / max(result['commands'], 1):.2f} a command"
    )
    print()
    print("| phase | wall s | rate | peak RSS MB | CPU s |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| ingest (commands, group commit) | {result['seconds']:,.0f} "
        f"| {result['commands'] / result['seconds']:,.0f} commands/s, "
        f"{result['events'] / result['seconds']:,.0f} events/s "
        f"| {ingest.peak_rss / MB:,.0f} | {ingest.cpu_s:,.0f} |"
    )
    print(
        f"| projection (`jam projections rebuild`) | {project.seconds:,.0f} "
        f"| {events / project.seconds:,.0f} events/s "
        f"| {project.peak_rss / MB:,.0f} | {project.cpu_s:,.0f} |"
    )
    print(
        f"| clustering (one full refresh) | {clustering.seconds:,.0f} "
        f"| {clusters['ideas']:,} ideas, {clusters['clusters']} clusters, "
        f"{clusters['seconds']:,.1f} s in the refresh "
        f"| {clustering.peak_rss / MB:,.0f} | {clustering.cpu_s:,.0f} |"
    )
    total = ingest.seconds + project.seconds
    print()
    print(
        f"ingested and projected in {total:,.0f} s ({total / 60:.1f} min), clustered "
        f"{clustering.seconds:,.0f} s later; "
        f"peak RSS of any phase {max(p.peak_rss for p in phases) / MB:,.0f} MB, "
        f"peak sampled sum of all processes {peak_total / MB:,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("replay", help="a whole jam, accelerated, into a fresh store")
    r.add_argument("--scale", type=float, default=1.0, help="1 = InnovationJam 2006 phase 1")
    r.add_argument("--submitters", type=int, default=128, help="concurrent submitter threads")
    r.add_argument("--database-url", help="PostgreSQL instead of a temporary SQLite store")
    r.add_argument(
        "--max-seconds", type=float, help="stop ingesting after this long; project what is in"
    )
    r.add_argument(
        "--commit-cache",
        type=int,
        help="aggregates the committer keeps (OPENJAM_COMMIT_CACHE; default 100,000)",
    )
    r.add_argument("--tmp", help="where the temporary data directory goes")
    r.add_argument("--keep", action="store_true", help="keep the data directory")
    r.set_defaults(run=replay)
    t = sub.add_parser("realtime", help="a real `jam serve` and simulated participants")
    t.add_argument("--clients", type=int, default=200, help="participants in the jam phase")
    t.add_argument("--seconds", type=float, default=60, help="length of the jam phase")
    t.add_argument("--think", type=float, default=2.0, help="mean think time, seconds")
    t.add_argument("--connections", type=int, default=32, help="in the closed-loop phases")
    t.add_argument("--burst", type=float, default=20, help="seconds of each closed-loop phase")
    t.add_argument("--workers", type=int, default=1, help="web workers (more need Redis)")
    t.add_argument(
        "--writes-only",
        action="store_true",
        help="the mix phase only votes, comments and posts (in the mix's proportions)",
    )
    t.add_argument(
        "--server-cpus",
        help="run the servers on these CPUs only (taskset's list, e.g. 1), not the client's",
    )
    t.add_argument("--port", type=int, default=8400)
    t.add_argument("--redis-url", help="Redis, for several workers")
    t.add_argument("--database-url", help="PostgreSQL instead of the embedded SQLite")
    t.add_argument(
        "--topology",
        action="store_true",
        help="production's processes: `jam serve --workers N` with projections and ranking "
        "external, `jam worker projections` and `jam worker ranking` (needs --database-url "
        "and --redis-url)",
    )
    t.add_argument(
        "--topic-refresh",
        type=float,
        help="least seconds between two cluster refreshes of the jam "
        "(OPENJAM_TOPIC_REFRESH_S; default 10)",
    )
    t.add_argument(
        "--seed-scale",
        type=float,
        default=1.0,
        help="size of the seeded jam (1: 400 people, 400 ideas, 1,200 comments, 6,000 votes)",
    )
    t.set_defaults(run=_realtime)
    i = sub.add_parser("_ingest")
    i.add_argument("spec")
    i.set_defaults(run=_ingest)
    k = sub.add_parser("_cluster")
    k.add_argument("spec")
    k.set_defaults(run=_cluster)
    args = parser.parse_args()
    sys.exit(args.run(args) or 0)


def _realtime(args: argparse.Namespace) -> int:
    from bench.sim_realtime import realtime

    return realtime(args)


def _ingest(args: argparse.Namespace) -> int:
    from bench.sim_replay import ingest

    ingest(json.loads(args.spec))
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from bench.sim_replay import cluster

    cluster(json.loads(args.spec))
    return 0


if __name__ == "__main__":
    main()
