"""The score of each ranked idea: support with uncertainty, bridging, then depth and momentum.

For an idea seen by n participants (agree + disagree + pass), a of whom agree:

    wilson    = lower bound of the Wilson interval of a / n at z (95%)
    group     = lowest over opinion groups G of (a_G + 1) / (n_G + 2)
    segment   = lowest over segments S that voted in the jam of (a_S + 1) / (n_S + 2)
    bridging  = group^g * segment^(1 - g)
    depth     = log(1 + comments) / log(1 + most comments on any idea)
    momentum  = (trend - 1) / (trend + 1), trend = last hour's votes and comments / the
                idea's average per hour since it was posted
    score     = wilson^(1 - b) * bridging^b * (1 + d * depth + m * momentum)

with b, g, d, m from `RankingConfig`. See docs/ranking.md for a worked example.
The product means support must hold on every axis: a large, one-sided crowd
raises `wilson` but leaves the other groups' factors where they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import RankingConfig
from .model import SEGMENTS, JamSnapshot
from .opinion import OpinionGroups, vote_matrix
from .support import Ballots, Tally, consensus, roots, segment_labels, wilson

HOUR = 3600.0


@dataclass(frozen=True)
class Scores:
    """Per ranked idea (in `ballots.ideas` order), everything the score is made of."""

    ballots: Ballots
    score: np.ndarray
    low: np.ndarray
    high: np.ndarray
    wilson: np.ndarray
    bridging: np.ndarray
    trend: np.ndarray
    comments: np.ndarray
    segments: tuple[str, ...]
    by_segment: Tally
    groups: tuple[str, ...]
    by_group: Tally
    opinion: OpinionGroups

    def order(self) -> list[int]:
        """Idea indices best first; ties go to the smaller idea id, so the order is total."""
        # `ballots.ideas` is sorted by id, so the index breaks ties as the id does.
        return np.lexsort((np.arange(len(self.score)), -self.score)).tolist()


def score(snapshot: JamSnapshot, ballots: Ballots, config: RankingConfig) -> Scores:
    everyone = np.zeros(len(ballots.participants), dtype=np.int64)
    overall = Tally.of(ballots, everyone, 1)
    agree, seen = overall.agree[:, 0], overall.seen[:, 0]
    low, high = wilson(agree, seen, config.z)

    opinion = OpinionGroups(
        min_votes=config.min_votes_for_group,
        min_participants=config.min_group_participants,
        max_groups=config.max_groups,
        random_state=config.random_state,
    ).fit(vote_matrix(ballots))
    by_group = Tally.of(ballots, opinion.labels_, opinion.n_groups_)
    group = consensus(by_group) if opinion.n_groups_ else consensus(overall)

    segments = _segments(snapshot)
    by_segment = Tally.of(
        ballots,
        segment_labels(snapshot, ballots, {s: n for n, s in enumerate(segments)}),
        len(segments),
    )
    voted = by_segment.seen.sum(axis=0) > 0  # a segment with no votes at all says nothing
    segment = consensus(by_segment.columns(voted))

    g = config.group_weight
    bridging = group**g * segment ** (1 - g)
    comments = _comments(snapshot, ballots)
    most = comments.max(initial=0)
    depth = np.log1p(comments) / np.log1p(most) if most else np.zeros(len(comments))
    trend = _trend(snapshot, ballots)
    momentum = (trend - 1) / (trend + 1)
    b = config.bridging_weight
    secondary = 1 + config.depth_weight * depth + config.momentum_weight * momentum
    return Scores(
        ballots=ballots,
        score=low ** (1 - b) * bridging**b * secondary,
        low=low,
        high=high,
        wilson=low,
        bridging=bridging,
        trend=trend,
        comments=comments,
        segments=segments,
        by_segment=by_segment,
        groups=group_names(opinion.n_groups_),
        by_group=by_group,
        opinion=opinion,
    )


def group_names(n: int) -> tuple[str, ...]:
    """The names opinion groups go by in evidence and exports: g1, g2, ..."""
    return tuple(f"g{i}" for i in range(1, n + 1))


def _segments(snapshot: JamSnapshot) -> tuple[str, ...]:
    """The four known segments, then any other a participant has, by name."""
    extra = sorted({p.segment for p in snapshot.participants} - set(SEGMENTS))
    return (*SEGMENTS, *extra)


def _comments(snapshot: JamSnapshot, ballots: Ballots) -> np.ndarray:
    """Visible comments per ranked idea, its duplicates' included."""
    index = _ranked_index(snapshot, ballots)
    counts = np.zeros(len(ballots.ideas), dtype=np.int64)
    for c in snapshot.comments:
        if not c.hidden and c.idea_id in index:
            counts[index[c.idea_id]] += 1
    return counts


def _trend(snapshot: JamSnapshot, ballots: Ballots) -> np.ndarray:
    """Votes and comments in the hour before `as_of` over the idea's mean per hour (0 if none)."""
    index = _ranked_index(snapshot, ballots)
    now = snapshot.as_of.timestamp()
    shown = [c for c in snapshot.comments if not c.hidden and c.idea_id in index]
    idea = np.concatenate([ballots.idea, [index[c.idea_id] for c in shown]]).astype(np.int64)
    at = np.concatenate([ballots.at, [c.at.timestamp() for c in shown]])
    ideas = len(ballots.ideas)
    total = np.bincount(idea, minlength=ideas)
    recent = np.bincount(idea[at > now - HOUR], minlength=ideas)
    posted = {i.id: i.posted_at.timestamp() for i in snapshot.ideas}
    hours = np.array([max((now - posted[i]) / HOUR, 1.0) for i in ballots.ideas])
    return np.divide(recent * hours, total, out=np.zeros(ideas), where=total > 0)


def _ranked_index(snapshot: JamSnapshot, ballots: Ballots) -> dict[str, int]:
    """Every idea whose activity counts for a ranked idea -> that idea's index."""
    position = {idea_id: n for n, idea_id in enumerate(ballots.ideas)}
    hidden = {i.id for i in snapshot.ideas if i.hidden}
    root = roots(snapshot.ideas)
    return {i: position[r] for i, r in root.items() if r in position and i not in hidden}
