"""Opinion groups: participants clustered by how they vote, as Pol.is does.

The participant x idea matrix holds +1 (agree), -1 (disagree) and 0 (pass); an
idea a participant has not seen takes the idea's mean vote among the others.
Participants with fewer than `min_votes` votes are left unassigned: too little
is known about them. The rest are projected to 2-D with PCA, each row scaled by
sqrt(ideas / ideas seen) so that people who saw little are not all drawn to the
centre (Pol.is does the same), and split by k-means with the k in
2..`max_groups` that has the best silhouette.

At jam scale (tens of thousands of participants and ideas) the matrix never
exists densely: an unseen cell, once centred, is 0, so the PCA is a truncated
SVD of the sparse centred votes (the same randomized solver PCA uses), and
k-means fits on a fixed random sample of the participants, then assigns everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.utils.extmath import randomized_svd, svd_flip
from threadpoolctl import threadpool_limits

from .support import Ballots

SILHOUETTE_SAMPLE = 2000  # silhouette is quadratic in the points; a fixed sample bounds it
DENSE_CELLS = 4_000_000  # eligible rows x ideas up to which PCA runs on the dense matrix
FIT_SAMPLE = 20_000  # k-means fits on at most this many participants, then assigns all


@dataclass(frozen=True)
class VoteMatrix:
    """Participants x ideas, sparse: the cells seen and the vote in each."""

    row: np.ndarray
    col: np.ndarray
    value: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, matrix: np.ndarray) -> VoteMatrix:
        """From a dense matrix, NaN where the idea was not seen."""
        row, col = np.nonzero(~np.isnan(matrix))
        return cls(row, col, matrix[row, col], matrix.shape)

    def toarray(self, rows: np.ndarray) -> np.ndarray:
        """These rows, densely, as float64 with NaN where unseen."""
        position = np.full(self.shape[0], -1)
        position[rows] = np.arange(len(rows))
        keep = position[self.row] >= 0
        dense = np.full((len(rows), self.shape[1]), np.nan, dtype=np.float32)
        dense[position[self.row[keep]], self.col[keep]] = self.value[keep]
        return dense.astype(np.float64)


def vote_matrix(ballots: Ballots) -> VoteMatrix:
    """Participants x ideas: the vote value of each standing ballot."""
    shape = (len(ballots.participants), len(ballots.ideas))
    return VoteMatrix(ballots.voter, ballots.idea, ballots.value.astype(np.float32), shape)


class OpinionGroups:
    """Pol.is-style opinion groups over a participant x idea vote matrix: a `VoteMatrix`
    or a dense array (NaN = unseen).

    Fitted attributes: `labels_` (group per row, -1 = unassigned, groups numbered
    by size, largest first), `n_groups_`, `positions_` (2-D, NaN when
    unassigned) and `silhouette_` (of the chosen k; NaN without groups).
    """

    def __init__(
        self,
        min_votes: int = 7,
        min_participants: int = 10,
        max_groups: int = 5,
        random_state: int = 0,
        dense_cells: int | None = None,  # None: DENSE_CELLS
        fit_sample: int | None = None,  # None: FIT_SAMPLE
    ) -> None:
        self.min_votes = min_votes
        self.min_participants = min_participants
        self.max_groups = max_groups
        self.random_state = random_state
        self.dense_cells = dense_cells
        self.fit_sample = fit_sample

    def fit(self, matrix: VoteMatrix | np.ndarray) -> OpinionGroups:
        votes = matrix if isinstance(matrix, VoteMatrix) else VoteMatrix.of(matrix)
        rows, ideas = votes.shape
        seen = np.bincount(votes.row, minlength=rows)
        # With few ideas nobody could reach min_votes: ask for all of them instead.
        eligible = np.flatnonzero(seen >= min(self.min_votes, ideas)) if ideas else np.zeros(0, int)
        self.labels_ = np.full(rows, -1, dtype=np.int64)
        self.positions_ = np.full((rows, 2), np.nan)
        self.n_groups_ = 0
        self.silhouette_ = float("nan")
        if len(eligible) < self.min_participants or ideas < 2:
            return self
        dense_cells = DENSE_CELLS if self.dense_cells is None else self.dense_cells
        if len(eligible) * ideas <= dense_cells:
            points = self._dense_pca(votes.toarray(eligible))
        else:
            points = self._sparse_pca(votes, eligible)
        if points is None:  # everybody voted alike: one opinion, no groups
            return self
        points *= np.sqrt(ideas / seen[eligible])[:, None]
        # k-means on 2-D points is tiny: OpenMP threads cost more than they save
        # (on a busy 2-core machine, 100x more), so it runs in this thread.
        with threadpool_limits(limits=1):
            best = self._best_k(points)
        if best is None:
            return self
        self.silhouette_, labels = best
        self.labels_[eligible] = _by_size(labels, points)
        self.positions_[eligible] = points
        self.n_groups_ = int(labels.max()) + 1
        return self

    def _dense_pca(self, values: np.ndarray) -> np.ndarray | None:
        """2-D PCA positions of the rows (NaN = unseen); None when all columns are constant."""
        unseen = np.isnan(values)
        # An unseen idea takes the idea's mean vote (Pol.is does the same), so that
        # not having seen it says nothing rather than "pass".
        counts = (~unseen).sum(axis=0)
        sums = np.where(unseen, 0.0, values).sum(axis=0)
        means = np.divide(sums, counts, out=np.zeros(values.shape[1]), where=counts > 0)
        values = np.where(unseen, means[None, :], values)
        if not values.var(axis=0).any():
            return None
        return PCA(n_components=2, random_state=self.random_state).fit_transform(values)

    def _sparse_pca(self, votes: VoteMatrix, eligible: np.ndarray) -> np.ndarray | None:
        """The same PCA without the dense matrix: filled with the idea's mean, an unseen
        cell is 0 once centred, so the centred matrix is as sparse as the votes."""
        position = np.full(votes.shape[0], -1)
        position[eligible] = np.arange(len(eligible))
        keep = position[votes.row] >= 0
        row, col = position[votes.row[keep]], votes.col[keep]
        value = votes.value[keep].astype(np.float64)
        ideas = votes.shape[1]
        counts = np.bincount(col, minlength=ideas)
        sums = np.bincount(col, weights=value, minlength=ideas)
        means = np.divide(sums, counts, out=np.zeros(ideas), where=counts > 0)
        centred = value - means[col]
        if not centred.any():
            return None
        matrix = sparse.csr_matrix((centred, (row, col)), shape=(len(eligible), ideas))
        u, s, vt = randomized_svd(
            matrix, 2, n_iter="auto", flip_sign=False, random_state=self.random_state
        )
        u, _ = svd_flip(u, vt, u_based_decision=False)  # PCA's sign convention
        return u * s

    def _best_k(self, points: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The k-means labels with the best silhouette for k in 2..max_groups.

        Past `fit_sample` points, k-means fits on a fixed random sample of them and
        assigns every point to its nearest centre: the groups of 2-D points are
        found as well from 20,000 as from 500,000, in a fraction of the time.
        """
        fitted = points
        sample = FIT_SAMPLE if self.fit_sample is None else self.fit_sample
        if len(points) > sample:
            rng = np.random.RandomState(self.random_state)
            fitted = points[np.sort(rng.choice(len(points), sample, replace=False))]
        distinct = len(np.unique(fitted.round(9), axis=0))
        best: tuple[float, np.ndarray] | None = None
        for k in range(2, min(self.max_groups, distinct - 1) + 1):
            kmeans = KMeans(n_clusters=k, n_init=10, random_state=self.random_state)
            if fitted is points:
                labels = kmeans.fit_predict(points)
            else:
                labels = kmeans.fit(fitted).predict(points)
            score = silhouette_score(
                points,
                labels,
                sample_size=min(SILHOUETTE_SAMPLE, len(points)),
                random_state=self.random_state,
            )
            if best is None or score > best[0]:
                best = (float(score), labels)
        return best


def _by_size(labels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Renumber groups largest first (ties: by centroid), so names do not depend on k-means."""
    groups = np.unique(labels)
    key = sorted(
        groups,
        key=lambda g: (-np.sum(labels == g), *points[labels == g].mean(axis=0).round(9)),
    )
    order = {g: n for n, g in enumerate(key)}
    return np.array([order[g] for g in labels], dtype=np.int64)
