"""What describes a topic cluster: key terms, representative rows, a place on a map,
and which cluster of the last refresh it continues."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer

from ranking.vectors import normalize_rows

EVERYWHERE = 0.25  # a word in this share of the texts of every cluster describes none


def key_terms(texts: Sequence[str], labels: Sequence[int], n: int = 5) -> dict[int, list[str]]:
    """The `n` most distinctive words of each cluster, by class-based TF-IDF (c-TF-IDF).

    Each cluster's texts count as one document: a word weighs its frequency in the
    cluster (per word of the cluster) times log(1 + average words per cluster / its
    frequency over all clusters), so words common everywhere sink. A word found in a
    quarter or more of the texts of every cluster describes none (a phrase every idea ends
    with): it gets no weight, or a cluster made of two topics, each of its own words half
    as frequent, would be named by it. The "other" bucket (-1) gets no terms.
    """
    labels = np.asarray(labels)
    if len(texts) != len(labels):
        raise ValueError("texts and labels must have the same length")
    clusters = np.unique(labels[labels >= 0])
    if len(clusters) == 0:
        return {}
    counter = CountVectorizer(stop_words="english")
    try:
        counts = counter.fit_transform(list(texts))
    except ValueError:  # no words at all beyond stop words
        return {int(c): [] for c in clusters}
    members = sp.csr_matrix(
        (
            np.ones(np.sum(labels >= 0)),
            (np.searchsorted(clusters, labels[labels >= 0]), np.flatnonzero(labels >= 0)),
        ),
        shape=(len(clusters), len(labels)),
    )
    per_class = np.asarray((members @ counts).todense(), dtype=np.float64)
    totals = per_class.sum(axis=1, keepdims=True)
    tf = np.divide(per_class, totals, out=np.zeros_like(per_class), where=totals > 0)
    frequency = per_class.sum(axis=0)
    idf = np.log1p(totals.mean() / np.maximum(frequency, 1))
    weight = tf * idf
    if len(clusters) > 1:
        sizes = np.asarray(members.sum(axis=1)).ravel()
        present = (members @ (counts > 0).astype(np.float64)).toarray() / sizes[:, None]
        weight[:, (present >= EVERYWHERE).all(axis=0)] = 0
    words = counter.get_feature_names_out()
    result = {}
    for row, cluster in enumerate(clusters):
        order = np.lexsort((words, -weight[row]))[:n]  # ties broken alphabetically
        result[int(cluster)] = [str(words[i]) for i in order if weight[row, i] > 0]
    return result


def representatives(
    x: np.ndarray, labels: Sequence[int], centers: np.ndarray, n: int = 3
) -> dict[int, list[int]]:
    """The `n` rows of each cluster most similar to its centre, most central first."""
    labels = np.asarray(labels)
    result = {}
    for cluster in range(len(centers)):
        rows = np.flatnonzero(labels == cluster)
        similarity = x[rows] @ centers[cluster]
        result[cluster] = [int(r) for r in rows[np.argsort(-similarity, kind="stable")[:n]]]
    return result


def map_positions(centers: np.ndarray, random_state: int | None = 0) -> np.ndarray:
    """2-D coordinates in [-1, 1] for a cluster map: the centres' first two principal axes.

    Similar topics land near each other. Signs are fixed (largest coordinate of each axis
    positive) so one refresh's map does not mirror the last one's for no reason.
    """
    centers = np.asarray(centers, dtype=np.float64)
    k = len(centers)
    positions = np.zeros((k, 2))
    if k >= 2:
        n_axes = min(2, k - 1, centers.shape[1])
        axes = PCA(n_axes, svd_solver="full", random_state=random_state).fit_transform(centers)
        signs = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(n_axes)])
        positions[:, :n_axes] = axes * np.where(signs == 0, 1, signs)
        scale = np.abs(positions).max()
        if scale > 0:
            positions /= scale
    return positions


def match_clusters(
    old_centers: np.ndarray, new_centers: np.ndarray, min_similarity: float = 0.5
) -> dict[int, int]:
    """New cluster index -> old cluster index, so topics keep their ids across refreshes.

    Pairs maximise the total cosine similarity (`linear_sum_assignment`); a pair less
    similar than `min_similarity` is no match (the new cluster is a new topic).
    """
    if len(old_centers) == 0 or len(new_centers) == 0:
        return {}
    old = normalize_rows(np.array(old_centers, dtype=np.float64))
    new = normalize_rows(np.array(new_centers, dtype=np.float64))
    return pair_up(new @ old.T, min_similarity)


def pair_up(similarity: np.ndarray, min_similarity: float) -> dict[int, int]:
    """Row -> column, one-to-one, maximising the total similarity (`linear_sum_assignment`);
    a pair less similar than `min_similarity` is left unpaired."""
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    pairs = zip(rows, cols, strict=True)
    return {int(r): int(c) for r, c in pairs if similarity[r, c] >= min_similarity}
