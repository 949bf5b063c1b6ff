"""How does our top 10 look to Pol.is's own opinion groups, on real conversations?

For each conversation folder (comments.csv, votes.csv, participants-votes.csv;
format in the data's README) a `JamSnapshot` is built straight from the CSVs:
comments become ideas (rejected ones, moderated = -1, hidden), the latest row per
(comment, voter) is the standing vote (1 agree, -1 disagree, 0 pass), everybody is
an employee (Pol.is has no segments) and joins at their first vote. Topics are
k-means on TF-IDF of the comment text. We rank with the default `RankingConfig` and
compare three top 10s (ours, raw agree counts, plain Wilson lower bound) through
Pol.is's `group-id` column:

  min group   the lowest agree share (agree / seen) over Pol.is groups, mean over the top 10
  all agree   top-10 comments agreed by a majority of those who saw them in every group
  GAC         overlap with the top 10 by Pol.is's group-aware consensus over its own
              groups (product of (agree + 1) / (seen + 2)): the comments Pol.is itself
              would surface as consensus (the export does not mark them)

and the agreement (adjusted Rand index) between our opinion groups and Pol.is's,
over participants both assign.

    .venv/bin/python -m bench.polis_groups --data ../shared/data/polis
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score

from ranking.config import RankingConfig
from ranking.model import IdeaRow, JamSnapshot, ParticipantRow, Topics, VoteRow
from ranking.opinion import OpinionGroups, vote_matrix
from ranking.shortlist import rank
from ranking.support import Ballots, Tally, wilson

TOP = 10


def _when(ms: str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def snapshot(folder: Path) -> tuple[JamSnapshot, dict[str, str]]:
    """The conversation as a snapshot, and each idea's text."""
    with (folder / "comments.csv").open(newline="", encoding="utf-8") as f:
        comments = list(csv.DictReader(f))
    with (folder / "votes.csv").open(newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["timestamp"]))
    ideas = tuple(
        IdeaRow(
            id=c["comment-id"],
            forum=folder.name,
            author_id=c["author-id"],
            author_segment="employee",
            title=c["comment-body"],
            body="",
            posted_at=_when(c["timestamp"]),
            hidden=c["moderated"] == "-1",
        )
        for c in sorted(comments, key=lambda c: int(c["comment-id"]))
    )
    known = {i.id for i in ideas}
    votes = tuple(
        VoteRow(r["comment-id"], r["voter-id"], int(r["vote"]), _when(r["timestamp"]))
        for r in rows
        if r["comment-id"] in known
    )
    first: dict[str, datetime] = {}
    for v in votes:
        first.setdefault(v.participant_id, v.at)
    for i in ideas:
        first[i.author_id] = min(first.get(i.author_id, i.posted_at), i.posted_at)
    people = tuple(ParticipantRow(p, "employee", at) for p, at in sorted(first.items()))
    as_of = max([v.at for v in votes] + [i.posted_at for i in ideas])
    snap = JamSnapshot(folder.name, len(votes), as_of, ideas, votes, people)
    return snap, {i.id: i.title for i in ideas}


def tfidf_topics(snap: JamSnapshot, texts: dict[str, str], seed: int = 0) -> Topics:
    """Topic clusters for the shortlist's diversity: k-means on TF-IDF, k = n / 10 (2..12)."""
    ids = [i.id for i in snap.ideas if not i.hidden]
    matrix = TfidfVectorizer(stop_words="english", min_df=1).fit_transform([texts[i] for i in ids])
    k = int(np.clip(len(ids) // 10, 2, 12))
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(matrix)
    assignment = {i: f"t{label + 1}" for i, label in zip(ids, labels, strict=True)}
    return Topics(snap.position, snap.as_of, (), assignment, f"k-means on TF-IDF, k={k}")


def polis_groups(folder: Path) -> dict[str, int]:
    with (folder / "participants-votes.csv").open(newline="", encoding="utf-8") as f:
        return {r["participant"]: int(r["group-id"]) for r in csv.DictReader(f) if r["group-id"]}


@dataclass
class Top:
    method: str
    ideas: list[str]
    min_group: float
    all_agree: int
    gac_overlap: int


def judge(method: str, top: Sequence[str], share: dict[str, np.ndarray], gac: list[str]) -> Top:
    lowest = [float(share[i].min()) for i in top]
    return Top(
        method,
        list(top),
        float(np.mean(lowest)),
        sum(bool((share[i] > 0.5).all()) for i in top),
        len(set(top) & set(gac[:TOP])),
    )


def evaluate(folder: Path, config: RankingConfig) -> tuple[dict[str, object], list[Top]]:
    snap, texts = snapshot(folder)
    theirs = polis_groups(folder)
    ballots = Ballots.of(snap)
    started = time.perf_counter()
    ranking = rank(snap, tfidf_topics(snap, texts, config.random_state), None, config)
    seconds = time.perf_counter() - started

    # Support per Pol.is group (participants without a group-id left out).
    names = sorted(set(theirs.values()))
    label = np.array([names.index(theirs[p]) if p in theirs else -1 for p in ballots.participants])
    tally = Tally.of(ballots, label, len(names))
    seen = np.maximum(tally.seen, 1)
    share = {idea: tally.agree[n] / seen[n] for n, idea in enumerate(ballots.ideas)}
    gac_value = ((tally.agree + 1.0) / (tally.seen + 2.0)).prod(axis=1)
    gac = [ballots.ideas[n] for n in np.lexsort((np.arange(len(gac_value)), -gac_value))]

    overall = Tally.of(ballots, np.zeros(len(ballots.participants), dtype=np.int64), 1)
    agree, total = overall.agree[:, 0], overall.seen[:, 0]
    raw = [ballots.ideas[n] for n in np.lexsort((overall.disagree[:, 0], -agree))]
    low = wilson(agree, total, config.z)[0]
    plain = [ballots.ideas[n] for n in np.lexsort((np.arange(len(low)), -low))]
    ours = [e.idea_id for e in ranking.ideas]

    groups = OpinionGroups(
        config.min_votes_for_group,
        config.min_group_participants,
        config.max_groups,
        config.random_state,
    ).fit(vote_matrix(ballots))
    both = [n for n, p in enumerate(ballots.participants) if p in theirs and groups.labels_[n] >= 0]
    ari = (
        adjusted_rand_score([theirs[ballots.participants[n]] for n in both], groups.labels_[both])
        if both
        else float("nan")
    )
    facts = {
        "conversation": folder.name,
        "ideas": len(ballots.ideas),
        "voters": len({v.participant_id for v in snap.votes}),
        "votes": len(ballots.value),
        "polis groups": len(names),
        "our groups": ranking.groups,
        "ARI": ari,
        "compared": len(both),
        "suspects": len(ranking.suspects),
        "rank s": seconds,
    }
    tops = [
        judge("ours", ours[:TOP], share, gac),
        judge("raw count", raw[:TOP], share, gac),
        judge("plain Wilson", plain[:TOP], share, gac),
        judge("Pol.is GAC", gac[:TOP], share, gac),
    ]
    return facts, tops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/polis"))
    args = parser.parse_args()
    config = RankingConfig()
    folders = sorted(p for p in args.data.iterdir() if (p / "votes.csv").is_file())
    results = [evaluate(folder, config) for folder in folders]

    print(
        "| conversation | ideas | voters | votes | Pol.is groups | our groups | ARI (participants) "
        "| suspects | rank s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for facts, _ in results:
        print(
            f"| {facts['conversation']} | {facts['ideas']} | {facts['voters']} | {facts['votes']} "
            f"| {facts['polis groups']} | {facts['our groups']} | {facts['ARI']:.2f} "
            f"({facts['compared']}) | {facts['suspects']} | {facts['rank s']:.1f} |"
        )
    print()
    print(
        f"Top {TOP} by method: mean over the top {TOP} of the lowest agree share over Pol.is "
        f"groups; how many are agreed by a majority of every Pol.is group; overlap with "
        f"Pol.is's group-aware-consensus top {TOP}."
    )
    print()
    print("| conversation | method | min group share | agreed by every group | GAC overlap |")
    print("|---|---|---:|---:|---:|")
    for facts, tops in results:
        for t in tops:
            print(
                f"| {facts['conversation']} | {t.method} | {t.min_group:.2f} | "
                f"{t.all_agree}/{TOP} | {t.gac_overlap}/{TOP} |"
            )
    print()
    print("| method | mean min group share | agreed by every group, total | GAC overlap, total |")
    print("|---|---:|---:|---:|")
    for m, method in enumerate(t.method for t in results[0][1]):
        mine = [tops[m] for _, tops in results]
        print(
            f"| {method} | {np.mean([t.min_group for t in mine]):.2f} | "
            f"{sum(t.all_agree for t in mine)}/{TOP * len(mine)} | "
            f"{sum(t.gac_overlap for t in mine)}/{TOP * len(mine)} |"
        )


if __name__ == "__main__":
    main()
