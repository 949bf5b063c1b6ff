"""The entry point: `rank` turns a snapshot into ranked ideas, a diverse shortlist and themes.

The ranking is computed twice when coordinated accounts are found: with every
vote (`shortlist`, `ideas`, `themes`, each idea's `rank`) and without the suspects'
votes (`shortlist_clean`, `ideas_clean`, `themes_clean`, `rank_without_suspects`).
An idea that is on one shortlist and not the other `depends_on_suspects`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .config import RankingConfig
from .integrity import CoordinationDetector
from .model import IdeaEvidence, JamSnapshot, Ranking, Theme, Topics
from .score import Scores, score
from .support import Ballots

OTHER = "other"  # the topics' outlier bucket: its ideas share no theme
POOL = 10  # MMR looks at the best POOL x shortlist_size ideas


def rank(
    snapshot: JamSnapshot,
    topics: Topics,
    vectors: Mapping[str, np.ndarray] | None,
    config: RankingConfig,
) -> Ranking:
    """Rank a snapshot: a pure, deterministic function of its four arguments."""
    ballots = Ballots.of(snapshot)
    suspects = _suspects(snapshot, ballots, config)
    suspect_voters = _indices(ballots, suspects)
    scores = score(snapshot, ballots, config)
    clean = score(snapshot, ballots.without(suspect_voters), config) if suspects else scores
    cluster = {i: topics.assignment.get(i, OTHER) for i in ballots.ideas}
    order, clean_order = scores.order(), clean.order()
    shortlist = _mmr(scores, order, cluster, vectors, config)
    shortlist_clean = _mmr(clean, clean_order, cluster, vectors, config)
    clean_rank = {ballots.ideas[n]: r for r, n in enumerate(clean_order, start=1)}
    suspect_votes = np.bincount(
        ballots.idea[np.isin(ballots.voter, suspect_voters)],
        minlength=len(ballots.ideas),
    )
    dependent = set(shortlist) ^ set(shortlist_clean)
    rank_of = {ballots.ideas[n]: r for r, n in enumerate(order, start=1)}
    ideas = _evidence(scores, order, cluster, suspect_votes, rank_of, clean_rank, dependent)
    ideas_clean: tuple[IdeaEvidence, ...] = ()
    themes_clean: tuple[Theme, ...] = ()
    if suspects:
        # What the view without suspect votes shows must come from the clean scores too:
        # its intervals, support per segment and group (groups refitted), and themes.
        every = _evidence(
            clean, clean_order, cluster, suspect_votes, rank_of, clean_rank, dependent
        )
        themes_clean = _themes(every, config)
        shown = {*shortlist_clean, *(i for t in themes_clean for i in t.ideas)}
        ideas_clean = tuple(e for e in every if e.idea_id in shown)  # not all: it would double
    return Ranking(
        config_version=config.version,
        position=snapshot.position,
        as_of=snapshot.as_of,
        ideas=ideas,
        shortlist=tuple(shortlist),
        shortlist_clean=tuple(shortlist_clean),
        themes=_themes(ideas, config),
        groups=scores.opinion.n_groups_,
        suspects=tuple(sorted(suspects)),
        ideas_clean=ideas_clean,
        themes_clean=themes_clean,
        groups_clean=clean.opinion.n_groups_ if suspects else 0,
    )


def _suspects(snapshot: JamSnapshot, ballots: Ballots, config: RankingConfig) -> frozenset[str]:
    joined = {p.id: p.joined_at.timestamp() for p in snapshot.participants}
    joined_at = np.array([joined.get(p, np.nan) for p in ballots.participants])
    detector = CoordinationDetector(
        similarity=config.pattern_similarity,
        min_shared=config.min_shared_votes,
        min_group=config.min_suspect_group,
        lift=config.coordination_lift,
        burst_window=config.burst_window_hours * 3600,
        fresh=config.fresh_hours * 3600,
    ).fit(ballots, joined_at)
    return frozenset(ballots.participants[n] for n in detector.suspects_)


def _indices(ballots: Ballots, people: frozenset[str]) -> np.ndarray:
    return np.array([n for n, p in enumerate(ballots.participants) if p in people], dtype=np.int64)


def _evidence(
    scores: Scores,
    order: Sequence[int],
    cluster: Mapping[str, str],
    suspect_votes: np.ndarray,
    rank_of: Mapping[str, int],
    clean_rank: Mapping[str, int],
    dependent: set[str],
) -> tuple[IdeaEvidence, ...]:
    """Every ranked idea's evidence from `scores`, in `order` (numpy converted once, not
    per cell); `rank` is always the rank with every vote."""
    by_segment = scores.by_segment.supports(scores.segments)
    by_group = scores.by_group.supports(scores.groups)
    score, low, high = scores.score.tolist(), scores.low.tolist(), scores.high.tolist()
    wilson, bridging = scores.wilson.tolist(), scores.bridging.tolist()
    comments, trend = scores.comments.tolist(), scores.trend.tolist()
    suspect = suspect_votes.tolist()
    evidence = []
    for n in order:
        idea_id = scores.ballots.ideas[n]
        evidence.append(
            IdeaEvidence(
                idea_id=idea_id,
                rank=rank_of[idea_id],
                score=score[n],
                low=low[n],
                high=high[n],
                wilson=wilson[n],
                bridging=bridging[n],
                by_segment=by_segment[n],
                by_group=by_group[n],
                comments=comments[n],
                trend=trend[n],
                cluster_id=cluster[idea_id],
                duplicates=scores.ballots.duplicates[idea_id],
                suspect_votes=suspect[n],
                rank_without_suspects=clean_rank[idea_id],
                depends_on_suspects=idea_id in dependent,
            )
        )
    return tuple(evidence)


def _mmr(
    scores: Scores,
    order: Sequence[int],
    cluster: Mapping[str, str],
    vectors: Mapping[str, np.ndarray] | None,
    config: RankingConfig,
) -> list[str]:
    """Maximal marginal relevance: each pick maximises
    lambda * score / best score - (1 - lambda) * (greatest similarity to an earlier pick).

    Similarity is the cosine of the ideas' vectors when both have one, otherwise
    1 within a cluster and 0 across clusters (outliers resemble nothing).
    """
    pool = [scores.ballots.ideas[n] for n in order[: POOL * config.shortlist_size]]
    if not pool or config.shortlist_size <= 0:
        return []
    relevance = np.array([scores.score[n] for n in order[: len(pool)]])
    relevance = relevance / relevance[0] if relevance[0] > 0 else relevance
    similar = _similarity(pool, cluster, vectors)
    picked: list[int] = []
    closest = np.zeros(len(pool))
    free = np.ones(len(pool), dtype=bool)
    lam = config.mmr_lambda
    for _ in range(min(config.shortlist_size, len(pool))):
        gain = np.where(free, lam * relevance - (1 - lam) * closest, -np.inf)
        best = int(np.argmax(gain))  # the first of equals: the better-ranked idea
        picked.append(best)
        free[best] = False
        closest = np.maximum(closest, similar[best])
    return [pool[n] for n in picked]


def _similarity(
    pool: Sequence[str], cluster: Mapping[str, str], vectors: Mapping[str, np.ndarray] | None
) -> np.ndarray:
    labels = np.array([cluster[i] for i in pool])
    same = (labels[:, None] == labels[None, :]) & (labels[:, None] != OTHER)
    similar = same.astype(float)
    if vectors:
        has = np.array([i in vectors for i in pool])
        if has.any():
            rows = np.flatnonzero(has)
            matrix = np.stack([np.asarray(vectors[pool[n]], dtype=float) for n in rows])
            cosine = np.clip(matrix @ matrix.T, 0.0, 1.0)
            similar[np.ix_(rows, rows)] = cosine
    return similar


def _themes(ideas: Sequence[IdeaEvidence], config: RankingConfig) -> tuple[Theme, ...]:
    """Clusters ranked by the sum of their best `theme_top` ideas' scores."""
    members: dict[str, list[IdeaEvidence]] = {}
    for e in ideas:  # best first already
        if e.cluster_id != OTHER:
            members.setdefault(e.cluster_id, []).append(e)
    scored = sorted(
        ((sum(e.score for e in m[: config.theme_top]), c, m) for c, m in members.items()),
        key=lambda t: (-t[0], t[1]),
    )
    return tuple(
        Theme(
            cluster_id=c, rank=r, score=s, ideas=tuple(e.idea_id for e in m[: config.theme_ideas])
        )
        for r, (s, c, m) in enumerate(scored, start=1)
    )
