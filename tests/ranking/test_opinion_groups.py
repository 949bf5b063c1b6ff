"""Opinion groups: participants who vote alike end up together, as in Pol.is."""

from __future__ import annotations

import numpy as np

from ranking.model import AGREE, DISAGREE
from ranking.opinion import OpinionGroups


def planted(sizes: tuple[int, ...], ideas: int = 12, seed: int = 3) -> np.ndarray:
    """Groups of participants, each group agreeing with its own block of ideas and
    disagreeing with the rest; one vote in ten goes the other way."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, size in enumerate(sizes):
        stance = np.full(ideas, DISAGREE, dtype=np.float32)
        stance[g * ideas // len(sizes) : (g + 1) * ideas // len(sizes)] = AGREE
        for _ in range(size):
            flip = rng.random(ideas) < 0.1
            rows.append(np.where(flip, -stance, stance))
    return np.array(rows)


def test_people_who_vote_alike_form_one_group_each() -> None:
    groups = OpinionGroups(random_state=0).fit(planted((20, 20, 20)))

    assert groups.n_groups_ == 3
    for block in range(3):
        members = groups.labels_[block * 20 : (block + 1) * 20]
        assert len(set(members)) == 1
    assert len(set(groups.labels_)) == 3
    assert not np.isnan(groups.positions_).any()


def test_groups_are_numbered_largest_first() -> None:
    groups = OpinionGroups(random_state=0).fit(planted((12, 25)))

    assert list(groups.labels_[:12]) == [1] * 12
    assert list(groups.labels_[12:]) == [0] * 25


def test_people_who_voted_on_too_few_ideas_are_left_unassigned() -> None:
    matrix = planted((15, 15))
    matrix[0, 3:] = np.nan  # three votes only
    matrix[20, :] = np.nan  # saw nothing

    groups = OpinionGroups(min_votes=7, random_state=0).fit(matrix)

    assert groups.labels_[0] == -1
    assert groups.labels_[20] == -1
    assert np.isnan(groups.positions_[0]).all()
    assert (groups.labels_[1:15] >= 0).all()


def test_too_few_eligible_people_make_no_groups() -> None:
    groups = OpinionGroups(min_participants=10).fit(planted((4, 4)))

    assert groups.n_groups_ == 0
    assert (groups.labels_ == -1).all()


def test_the_same_random_state_gives_the_same_groups() -> None:
    matrix = planted((18, 9, 14), seed=8)

    first = OpinionGroups(random_state=4).fit(matrix)
    second = OpinionGroups(random_state=4).fit(matrix)

    assert np.array_equal(first.labels_, second.labels_)
    assert first.silhouette_ == second.silhouette_
