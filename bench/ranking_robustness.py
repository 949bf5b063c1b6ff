"""Does a brigade of new accounts move the top 10?

A simulated 72-hour jam: 2,000 participants over the four segments, each in one
of three latent opinion groups; 300 ideas in 12 topics, each with a latent
quality and a per-group leaning; every participant votes on about 20 ideas
posted before the vote (agree with probability sigmoid(quality + leaning), 10%
passes). At hour 60, 100 new accounts (5% of the jam, --brigade) join within 30 minutes
(--spread), spread over the segments like everybody else, and each agrees with
10 weak ideas (latent quality in the 20th to 50th percentile) and disagrees with
the 5 ideas leading on agree votes at that hour, each with probability 0.9
(--coverage), plus 3 random votes as cover (--cover), right after joining.

For each seed the same jam is ranked without and with the brigade, by:
  raw     agree votes (ties: fewer disagrees)
  wilson  the Wilson lower bound of agree / seen
  ours    `ranking.shortlist.rank`, its order with every vote (`rank`) and
          without the suspects' votes (`rank_without_suspects`)
and reports how many brigaded ideas enter each top 10 and whether the honest
top 10 (the same method on the jam without the brigade) is unchanged, as a set
and in order. Target: no brigaded idea in the top 10 and the honest top 10
unchanged.

    .venv/bin/python -m bench.ranking_robustness --seeds 5
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np

from ranking.config import RankingConfig
from ranking.model import (
    AGREE,
    DISAGREE,
    PASS,
    SEGMENTS,
    IdeaRow,
    JamSnapshot,
    ParticipantRow,
    Topics,
    VoteRow,
)
from ranking.shortlist import rank
from ranking.support import Ballots, Tally, wilson

T0 = datetime(2030, 5, 1, 9, tzinfo=UTC)
HOURS = 72.0
SEGMENT_MIX = (0.55, 0.2, 0.15, 0.1)


@dataclass(frozen=True)
class Simulated:
    honest: JamSnapshot
    brigaded: JamSnapshot
    topics: Topics
    targets: frozenset[str]  # ideas the brigade pushes
    brigade: frozenset[str]  # its accounts


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=float(hours))


def simulate(
    seed: int,
    participants: int = 2000,
    ideas: int = 300,
    votes_each: float = 20.0,
    brigade_share: float = 0.05,
    targets: int = 10,
    buried: int = 5,
    coverage: float = 0.9,
    cover: int = 3,
    spread: float = 0.5,
) -> Simulated:
    rng = np.random.default_rng(seed)
    quality = rng.normal(0.0, 1.0, ideas)
    leaning = rng.normal(0.0, 0.8, (3, ideas))  # how each opinion group departs from quality
    posted = np.sort(rng.uniform(0.0, 60.0, ideas))
    idea_rows = tuple(
        IdeaRow(f"i{n:03d}", "work", "author", "employee", f"Idea {n}", "", _at(posted[n]))
        for n in range(ideas)
    )
    topics = Topics(
        position=0,
        as_of=_at(HOURS),
        clusters=(),
        assignment={f"i{n:03d}": f"t{rng.integers(12) + 1}" for n in range(ideas)},
        method="latent topics of the simulation",
    )
    joined = np.sort(rng.exponential(12.0, participants).clip(0.0, HOURS - 1))
    people = tuple(
        ParticipantRow(f"p{n:04d}", str(rng.choice(SEGMENTS, p=SEGMENT_MIX)), _at(joined[n]))
        for n in range(participants)
    )
    group = rng.integers(0, 3, participants)
    votes: list[VoteRow] = []
    for n in range(participants):
        count = int(np.clip(rng.lognormal(np.log(votes_each) - 0.3, 0.8), 1, 150))
        when = np.sort(rng.uniform(joined[n], min(joined[n] + 24.0, HOURS), count))
        chosen: set[int] = set()
        for t in when:
            visible = int(np.searchsorted(posted, t))
            if not visible:
                continue
            idea = int(rng.integers(visible))
            if idea in chosen:
                continue
            chosen.add(idea)
            p = 1 / (1 + np.exp(-(quality[idea] + leaning[group[n], idea] - 0.3)))
            u = rng.random()
            value = PASS if u < 0.1 else AGREE if rng.random() < p else DISAGREE
            votes.append(VoteRow(f"i{idea:03d}", people[n].id, value, _at(t)))
    honest = JamSnapshot("sim", len(votes), _at(HOURS), idea_rows, tuple(votes), people)

    # The brigade: new accounts at hour 60, within 30 minutes.
    start = 60.0
    order = np.argsort(quality)
    weak = order[int(0.2 * ideas) : int(0.5 * ideas)]
    weak = weak[posted[weak] < start]
    pushed = rng.choice(weak, size=targets, replace=False)
    before = [v for v in votes if v.at < _at(start)]
    agrees = np.zeros(ideas)
    for v in before:
        agrees[int(v.idea_id[1:])] += v.value == AGREE
    leaders = np.argsort(-agrees, kind="stable")[:buried]
    size = round(brigade_share * participants)
    recruits = []
    brigade_votes = []
    for k in range(size):
        pid = f"b{k:03d}"
        at = start + rng.uniform(0.0, spread)
        recruits.append(ParticipantRow(pid, str(rng.choice(SEGMENTS, p=SEGMENT_MIX)), _at(at)))
        plan = [(i, AGREE) for i in pushed] + [(i, DISAGREE) for i in leaders]
        plan = [(i, val) for i, val in plan if rng.random() < coverage]
        extra = rng.choice(int(np.searchsorted(posted, start)), size=cover, replace=False)
        plan += [(int(i), int(rng.choice([AGREE, DISAGREE]))) for i in extra if i not in pushed]
        for m, (i, val) in enumerate(plan):
            brigade_votes.append(VoteRow(f"i{i:03d}", pid, val, _at(at + 0.05 + 0.01 * m)))
    brigaded = JamSnapshot(
        "sim",
        len(votes) + len(brigade_votes),
        _at(HOURS),
        idea_rows,
        tuple(votes + brigade_votes),
        people + tuple(recruits),
    )
    return Simulated(
        honest,
        brigaded,
        topics,
        frozenset(f"i{i:03d}" for i in pushed),
        frozenset(r.id for r in recruits),
    )


def _by_counts(snapshot: JamSnapshot, key: Callable[[Tally, float], np.ndarray]) -> list[str]:
    ballots = Ballots.of(snapshot)
    tally = Tally.of(ballots, np.zeros(len(ballots.participants), dtype=np.int64), 1)
    value = key(tally, RankingConfig().z)
    return [ballots.ideas[n] for n in np.lexsort((tally.disagree[:, 0], -value))]


def raw(snapshot: JamSnapshot) -> list[str]:
    return _by_counts(snapshot, lambda t, z: t.agree[:, 0].astype(float))


def plain_wilson(snapshot: JamSnapshot) -> list[str]:
    return _by_counts(snapshot, lambda t, z: wilson(t.agree[:, 0], t.seen[:, 0], z)[0])


@dataclass
class Row:
    seed: int
    method: str
    brigaded_in_top: int
    same_set: bool
    same_order: bool


def compare(
    seed: int, method: str, honest: Sequence[str], attacked: Sequence[str], targets: frozenset[str]
) -> Row:
    top, ref = list(attacked[:10]), list(honest[:10])
    return Row(seed, method, len(set(top) & targets), set(top) == set(ref), top == ref)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--ideas", type=int, default=300)
    parser.add_argument("--brigade", type=float, default=0.05, help="share of accounts")
    parser.add_argument("--coverage", type=float, default=0.9, help="of the brigade's list")
    parser.add_argument("--cover", type=int, default=3, help="random votes per brigade account")
    parser.add_argument("--spread", type=float, default=0.5, help="hours the brigade joins over")
    parser.add_argument(
        "--similarity", type=float, default=None, help="RankingConfig.pattern_similarity"
    )
    args = parser.parse_args()
    config = RankingConfig()
    if args.similarity is not None:
        config = msgspec.structs.replace(config, pattern_similarity=args.similarity)
    rows: list[Row] = []
    print("seed  votes  brigade votes  suspects  brigade found  honest flagged  rank s")
    for seed in range(1, args.seeds + 1):
        sim = simulate(
            seed,
            args.participants,
            args.ideas,
            brigade_share=args.brigade,
            coverage=args.coverage,
            cover=args.cover,
            spread=args.spread,
        )
        started = time.perf_counter()
        honest = rank(sim.honest, sim.topics, None, config)
        attacked = rank(sim.brigaded, sim.topics, None, config)
        seconds = (time.perf_counter() - started) / 2
        suspects = set(attacked.suspects)
        print(
            f"{seed:>4}  {len(sim.honest.votes):>5}  "
            f"{len(sim.brigaded.votes) - len(sim.honest.votes):>13}  {len(suspects):>8}  "
            f"{len(suspects & sim.brigade):>6}/{len(sim.brigade):<6}  "
            f"{len(suspects - sim.brigade) + len(honest.suspects):>14}  {seconds:>6.1f}"
        )
        ours = [e.idea_id for e in honest.ideas]
        clean = [e.idea_id for e in sorted(attacked.ideas, key=lambda e: e.rank_without_suspects)]
        rows += [
            compare(seed, "raw count", raw(sim.honest), raw(sim.brigaded), sim.targets),
            compare(
                seed,
                "plain Wilson",
                plain_wilson(sim.honest),
                plain_wilson(sim.brigaded),
                sim.targets,
            ),
            compare(
                seed, "ours, all votes", ours, [e.idea_id for e in attacked.ideas], sim.targets
            ),
            compare(seed, "ours, without suspects", ours, clean, sim.targets),
        ]
    print()
    print("| method | seed | brigaded ideas in top 10 | top 10 unchanged (set) | (order) |")
    print("|---|---:|---:|---|---|")
    for r in rows:
        print(f"| {r.method} | {r.seed} | {r.brigaded_in_top} | {r.same_set} | {r.same_order} |")
    print()
    print("| method | seeds meeting the target | brigaded ideas in top 10, total |")
    print("|---|---:|---:|")
    for method in dict.fromkeys(r.method for r in rows):
        mine = [r for r in rows if r.method == method]
        met = sum(r.brigaded_in_top == 0 and r.same_set for r in mine)
        total = sum(r.brigaded_in_top for r in mine)
        print(f"| {method} | {met}/{len(mine)} | {total} |")


if __name__ == "__main__":
    main()
