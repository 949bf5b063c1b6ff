"""Opinion groups at jam scale: the sparse PCA and the sampled k-means find the
groups the dense, exact way finds."""

from __future__ import annotations

import numpy as np

from ranking.opinion import OpinionGroups, VoteMatrix
from tests.ranking.test_opinion_groups import planted


def with_unseen(matrix: np.ndarray, share: float, seed: int = 5) -> np.ndarray:
    """The same votes with about `share` of the cells not seen (NaN)."""
    blank = np.random.default_rng(seed).random(matrix.shape) < share
    return np.where(blank, np.nan, matrix).astype(np.float32)


def test_the_sparse_pca_places_people_where_the_dense_one_does() -> None:
    matrix = with_unseen(planted((20, 25, 30), ideas=24), 0.2)

    dense = OpinionGroups(random_state=0).fit(matrix)
    sparse = OpinionGroups(random_state=0, dense_cells=0).fit(matrix)

    assert dense.n_groups_ == sparse.n_groups_ == 3
    assert (sparse.labels_ == dense.labels_).all()
    assert np.allclose(sparse.positions_, dense.positions_, equal_nan=True)


def test_a_sparse_vote_matrix_gives_what_the_dense_array_gives() -> None:
    matrix = with_unseen(planted((15, 15)), 0.3)

    as_array = OpinionGroups(random_state=2).fit(matrix)
    as_votes = OpinionGroups(random_state=2).fit(VoteMatrix.of(matrix))

    assert (as_votes.labels_ == as_array.labels_).all()


def test_groups_fitted_on_a_sample_hold_everyone() -> None:
    matrix = planted((150, 200, 250), ideas=15)

    sampled = OpinionGroups(random_state=0, fit_sample=60).fit(matrix)
    everyone = OpinionGroups(random_state=0).fit(matrix)

    assert sampled.n_groups_ == everyone.n_groups_ == 3
    # One in 600 sits on a border that 60 points place a little differently.
    assert (sampled.labels_ == everyone.labels_).mean() >= 0.99
    for start, size in ((0, 150), (150, 200), (350, 250)):
        block = sampled.labels_[start : start + size]
        assert np.bincount(block).max() >= 0.99 * size  # each block is one group


def test_everybody_voting_alike_gives_no_groups_on_the_sparse_path_too() -> None:
    matrix = np.ones((30, 10), dtype=np.float32)

    assert OpinionGroups(dense_cells=0).fit(matrix).n_groups_ == 0
