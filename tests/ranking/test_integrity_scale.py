"""Coordinated voting at jam scale: accounts are compared by their rare votes, and
their votes on what everybody votes for then count in full."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from ranking import integrity
from ranking.model import AGREE, DISAGREE
from tests.ranking.snapshots import HOUR, T0
from tests.ranking.test_integrity import MINUTE, OTHER, POPULAR, WEAK, honest_jam, suspects


def votes(rows: list[list[int]], columns: int) -> sparse.csr_matrix:
    """Accounts x vote columns: 1 where the account cast that vote."""
    dense = np.zeros((len(rows), columns))
    for account, cast in enumerate(rows):
        dense[account, cast] = 1
    return sparse.csr_matrix(dense)


def linked(graph: sparse.csr_matrix) -> set[tuple[int, int]]:
    i, j = graph.nonzero()
    return set(zip(i.tolist(), j.tolist(), strict=True))


# Columns 0-4 are voted by four accounts or more (common once COMMON < 4); 5 and 6 are rare.
ROWS = [
    [0, 1, 2, 3, 5],  # 0 and 1 share the rare vote 5 and four common ones
    [0, 1, 2, 3, 5],
    [0, 1, 2, 3, 4],  # 2 and 3 share only common votes
    [0, 1, 2, 3, 4],
    [0, 1, 2, 3, 4, 6],
    [0, 1, 2, 3, 4],
]


def test_accounts_sharing_a_rare_vote_are_linked_by_all_their_identical_votes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(integrity, "COMMON", 3)

    graph = integrity._links(votes(ROWS, 7), similarity=0.25, min_shared=5)

    assert linked(graph) == {(0, 1)}


def test_below_the_common_threshold_every_pair_is_compared() -> None:
    graph = integrity._links(votes(ROWS, 7), similarity=0.25, min_shared=5)

    assert (0, 1) in linked(graph)
    assert (2, 3) in linked(graph)
    assert (2, 5) in linked(graph)


def test_a_brigade_is_still_flagged_when_the_popular_votes_are_common(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(integrity, "COMMON", 12)  # the popular ideas' agrees are common
    jam = honest_jam()
    assert suspects(jam) == set()
    brigade = jam.people("new", 8, "client", joined=T0 + 50 * HOUR, every=MINUTE)
    for idea in WEAK:
        jam.vote(brigade, idea, AGREE, after=5 * MINUTE)

    assert suspects(jam) == set(brigade)


def test_accounts_linked_only_by_common_votes_still_join_the_cohort(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jam = honest_jam()
    brigade = jam.people("new", 20, "client", joined=T0 + 50 * HOUR, every=MINUTE)
    for idea in POPULAR:
        jam.vote(brigade, idea, DISAGREE, after=5 * MINUTE)
    jam.vote(brigade[:5], OTHER[0], AGREE, after=10 * MINUTE)  # five also share a rare vote
    assert suspects(jam) == set(brigade)  # comparing every pair

    monkeypatch.setattr(integrity, "COMMON", 15)  # the disagrees are common, OTHER[0] is not

    assert suspects(jam) == set(brigade)
