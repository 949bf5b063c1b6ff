"""How long does the ranking worker take to refresh a jam of 100,000 ideas?

One full refresh, as the worker runs it (`ranking.engine.default_engine`): fit the text
vectors, cluster (k chosen by silhouette), describe the clusters, match them to the
previous refresh, rank every idea with its evidence, and look for duplicates of the
ideas new since the previous refresh (1%). Then one new idea is placed in its
cluster, as happens between refreshes. Beside it, in the same run, a baseline:
scikit-learn's KMeans (k = 20, n_init = 1) on the same vectors, the least a
clustering can cost.

    .venv/bin/python -m bench.topic_refresh --ideas 100000 --data ../shared/data/short-text

Targets: a full recompute in at most 15 s on the 2-core machine; one new idea
placed in under 5 ms. Peak memory is reported. Without --data, texts are generated.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

from bench.similar_speed import texts
from ranking.engine import default_engine
from ranking.model import IdeaRow, JamSnapshot, ParticipantRow, VoteRow
from ranking.similar import duplicate_pairs

START = datetime(2030, 5, 1, 9, tzinfo=UTC)
SEGMENTS = ("employee", "client", "family", "partner")


def snapshot(corpus: list[str], votes: int, rng: random.Random) -> JamSnapshot:
    n = len(corpus)
    people = max(1000, votes // 20)
    ideas = tuple(
        IdeaRow(
            id=f"i{k:07d}",
            forum="ideas",
            author_id=f"p{rng.randrange(people):07d}",
            author_segment=SEGMENTS[k % 4],
            title=text[:120],
            body=text,
            posted_at=START + timedelta(seconds=k * 72 * 3600 / n),
        )
        for k, text in enumerate(corpus)
    )
    participants = tuple(
        ParticipantRow(id=f"p{k:07d}", segment=SEGMENTS[k % 4], joined_at=START)
        for k in range(people)
    )
    popular = [min(n - 1, int(rng.paretovariate(1.2))) for _ in range(votes)]
    cast = {
        (f"i{i:07d}", f"p{rng.randrange(people):07d}"): 1 if rng.random() < 0.7 else -1
        for i in popular
    }
    end = START + timedelta(hours=72)
    vote_rows = tuple(
        VoteRow(idea_id=i, participant_id=p, value=v, at=end) for (i, p), v in sorted(cast.items())
    )
    return JamSnapshot("jam", n + len(vote_rows), end, ideas, vote_rows, participants)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ideas", type=int, default=100_000)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=None, help="folder of short-text CSVs")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = texts(args.data, args.ideas, rng)
    snap = snapshot(corpus, args.votes, rng)
    engine = default_engine()
    previous_n = int(len(snap.ideas) * 0.99)
    texts_now = [i.text for i in snap.ideas]

    # The previous refresh (not timed): what the new one matches its ids against.
    vectorizer, matrix = engine.fit_vectors(texts_now[:previous_n])
    earlier = JamSnapshot(
        snap.jam_id, snap.position, snap.as_of, snap.ideas[:previous_n], (), snap.participants
    )
    vectors = {i.id: row for i, row in zip(earlier.ideas, matrix, strict=True)}
    previous, _ = engine.refresh(earlier, vectors, None)

    phases: dict[str, float] = {}
    start = time.perf_counter()
    vectorizer, matrix = engine.fit_vectors(texts_now)
    phases["vectors"] = time.perf_counter() - start
    vectors = {i.id: row for i, row in zip(snap.ideas, matrix, strict=True)}
    mark = time.perf_counter()
    topics, model = engine.refresh(snap, vectors, previous)
    phases["clusters"] = time.perf_counter() - mark
    mark = time.perf_counter()
    ranking = engine.rank(snap, topics, vectors)
    phases["ranking"] = time.perf_counter() - mark
    mark = time.perf_counter()
    ids = [i.id for i in snap.ideas]
    pairs = duplicate_pairs(
        ids, matrix, threshold=engine.duplicate_threshold, check=range(previous_n, len(ids))
    )
    phases["duplicates"] = time.perf_counter() - mark
    total = time.perf_counter() - start

    placing = []
    for text in rng.sample(texts_now, 200):
        mark = time.perf_counter()
        model.assign(vectorizer.transform([text])[0])
        placing.append((time.perf_counter() - mark) * 1000)

    mark = time.perf_counter()
    KMeans(20, n_init=1, random_state=0).fit(matrix)
    baseline = time.perf_counter() - mark
    kept = sum(1 for c in topics.clusters if c.id in {p.id for p in previous.clusters})
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"ideas {len(snap.ideas):,}  votes {len(snap.votes):,}  {topics.method}")
    print(
        f"clusters {len(topics.clusters)} ({kept} kept their id)  "
        f"in 'other' {sum(1 for c in topics.assignment.values() if c == 'other'):,}  "
        f"shortlist {len(ranking.shortlist)}  duplicate pairs {len(pairs)}"
    )
    for name, seconds in phases.items():
        print(f"  {name:>10}: {seconds:6.2f} s")
    print(f"full refresh: {total:.2f} s   (target <= 15 s: {'met' if total <= 15 else 'NOT met'})")
    print(
        f"baseline KMeans(k=20, n_init=1) on the same vectors: {baseline:.2f} s  "
        f"-> refresh / baseline {total / baseline:.1f}x"
    )
    p99 = float(np.percentile(placing, 99))
    print(
        f"placing one new idea: p50 {statistics.median(placing):.2f} ms  p99 {p99:.2f} ms  "
        f"(target < 5 ms: {'met' if p99 < 5 else 'NOT met'})"
    )
    print(f"peak RSS {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
