"""The shortcuts that keep ranking fast give what the plain computation gives."""

from __future__ import annotations

import numpy as np

from ranking.config import RankingConfig
from ranking.score import score
from ranking.support import Ballots
from tests.ranking.test_integrity import honest_jam


def test_ballots_without_some_voters_are_the_ballots_read_without_them() -> None:
    snapshot = honest_jam().snapshot()
    ballots = Ballots.of(snapshot)
    gone = frozenset(ballots.participants[n] for n in (0, 7, 30))

    filtered = ballots.without(np.array([0, 7, 30]))
    read = Ballots.of(snapshot, gone)

    assert filtered.participants == read.participants
    assert filtered.ideas == read.ideas
    for field in ("idea", "voter", "value", "at"):
        assert (getattr(filtered, field) == getattr(read, field)).all()


def test_all_supports_at_once_are_each_row_support() -> None:
    snapshot = honest_jam().snapshot()
    scores = score(snapshot, Ballots.of(snapshot), RankingConfig())

    every = scores.by_segment.supports(scores.segments)

    assert every == [scores.by_segment.support(n, scores.segments) for n in range(len(every))]


def test_equal_scores_are_ordered_by_idea_id() -> None:
    snapshot = honest_jam().snapshot()
    scores = score(snapshot, Ballots.of(snapshot), RankingConfig())
    ids = scores.ballots.ideas

    expected = sorted(range(len(ids)), key=lambda n: (-scores.score[n], ids[n]))

    assert scores.order() == expected
