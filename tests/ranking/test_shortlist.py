"""The shortlist covers the themes (maximal marginal relevance), and the themes are ranked."""

from __future__ import annotations

import numpy as np

from ranking.config import RankingConfig
from ranking.model import AGREE, DISAGREE, Ranking
from ranking.shortlist import rank
from tests.ranking.snapshots import Jam, topics


def jam_with_support(agree: dict[str, int], voters: int = 40) -> Jam:
    """Ideas agreed with by the given number of `voters` people (the rest disagree)."""
    jam = Jam()
    people = jam.people("p", voters)
    for idea, n in agree.items():
        jam.idea(idea)
        jam.vote(people[:n], idea, AGREE)
        jam.vote(people[n:], idea, DISAGREE)
    return jam


SUPPORT = {"a1": 38, "a2": 37, "a3": 36, "b1": 30, "b2": 28, "c1": 20}
CLUSTERS = {"a1": "t1", "a2": "t1", "a3": "t1", "b1": "t2", "b2": "t2", "c1": "t3"}


def ranked(
    config: RankingConfig,
    clusters: dict[str, str] = CLUSTERS,
    vectors: dict[str, np.ndarray] | None = None,
) -> Ranking:
    return rank(jam_with_support(SUPPORT).snapshot(), topics(clusters), vectors, config)


def test_every_ranked_idea_is_listed_best_first() -> None:
    ranking = ranked(RankingConfig())

    assert [e.idea_id for e in ranking.ideas] == ["a1", "a2", "a3", "b1", "b2", "c1"]
    assert [e.rank for e in ranking.ideas] == [1, 2, 3, 4, 5, 6]
    assert [e.cluster_id for e in ranking.ideas] == ["t1", "t1", "t1", "t2", "t2", "t3"]


def test_the_shortlist_covers_the_themes_before_repeating_one() -> None:
    ranking = ranked(RankingConfig(shortlist_size=3))

    assert ranking.shortlist == ("a1", "b1", "c1")
    assert ranking.shortlist_clean == ranking.shortlist


def test_without_diversity_the_shortlist_is_the_top_of_the_ranking() -> None:
    ranking = ranked(RankingConfig(shortlist_size=3, mmr_lambda=1.0))

    assert ranking.shortlist == ("a1", "a2", "a3")


def test_the_shortlist_has_the_configured_size_at_most() -> None:
    assert len(ranked(RankingConfig(shortlist_size=4)).shortlist) == 4
    assert len(ranked(RankingConfig(shortlist_size=20)).shortlist) == 6


def test_outliers_resemble_nothing() -> None:
    clusters = dict.fromkeys(SUPPORT, "other")

    ranking = ranked(RankingConfig(shortlist_size=3), clusters)

    assert ranking.shortlist == ("a1", "a2", "a3")
    assert ranking.themes == ()


def test_vectors_decide_similarity_when_given() -> None:
    # a1 and a2 say the same thing; a3 says something else, though all share a cluster.
    same, other = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    vectors = {"a1": same, "a2": same, "a3": other, "b1": same, "b2": other, "c1": same}

    ranking = ranked(RankingConfig(shortlist_size=2), vectors=vectors)

    assert ranking.shortlist == ("a1", "a3")


def test_themes_are_ranked_by_their_best_ideas_and_list_them_best_first() -> None:
    ranking = ranked(RankingConfig(theme_ideas=2, theme_top=1))
    scores = {e.idea_id: e.score for e in ranking.ideas}

    assert [t.cluster_id for t in ranking.themes] == ["t1", "t2", "t3"]
    assert [t.rank for t in ranking.themes] == [1, 2, 3]
    assert ranking.themes[0].ideas == ("a1", "a2")
    assert ranking.themes[1].ideas == ("b1", "b2")
    assert ranking.themes[0].score == scores["a1"]


def test_a_theme_of_several_good_ideas_beats_one_of_a_single_better_idea() -> None:
    jam = jam_with_support({"solo": 36, "x1": 35, "x2": 35, "x3": 34})
    clusters = {"solo": "t9", "x1": "t1", "x2": "t1", "x3": "t1"}

    ranking = rank(jam.snapshot(), topics(clusters), None, RankingConfig(theme_top=3))

    assert ranking.ideas[0].idea_id == "solo"
    assert [t.cluster_id for t in ranking.themes] == ["t1", "t9"]
