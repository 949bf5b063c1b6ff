"""Clustering metrics: accuracy under the best one-to-one map, NMI and ARI."""

from __future__ import annotations

import pytest

from ranking.quality import hungarian_accuracy, score


def test_relabelled_perfect_clustering_scores_one() -> None:
    result = score([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])
    assert (result.acc, result.nmi, result.ari) == (1.0, 1.0, 1.0)


def test_accuracy_uses_the_best_one_to_one_map() -> None:
    # Cluster 1 overlaps both classes; the best map pairs it with class 1 (2 items).
    assert hungarian_accuracy([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 2]) == pytest.approx(4 / 6)


def test_extra_clusters_count_as_wrong() -> None:
    assert hungarian_accuracy([0, 0, 0, 0], [0, 0, 1, 2]) == pytest.approx(0.5)


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        hungarian_accuracy([0, 1], [0])
