"""How well a clustering recovers known classes: accuracy (Hungarian), NMI and ARI.

Used by the quality benchmark against the labelled short-text sets; the labels
never reach the clustering itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import msgspec
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

Labels: TypeAlias = Sequence[int] | np.ndarray


class Scores(msgspec.Struct, frozen=True):
    acc: float
    nmi: float
    ari: float


def _contingency(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    _, t = np.unique(truth, return_inverse=True)
    _, p = np.unique(predicted, return_inverse=True)
    table = np.zeros((p.max() + 1, t.max() + 1), dtype=np.int64)
    np.add.at(table, (p, t), 1)
    return table


def hungarian_accuracy(truth: Labels, predicted: Labels) -> float:
    """Share of items whose cluster maps to their class under the best one-to-one map.

    Clusters and classes are paired by `linear_sum_assignment` on their overlap; with
    more clusters than classes the unpaired clusters count as wrong (and vice versa).
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape:
        raise ValueError("truth and predicted must have the same length")
    if truth.size == 0:
        return 0.0
    table = _contingency(truth, predicted)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / truth.size)


def score(truth: Labels, predicted: Labels) -> Scores:
    """ACC, NMI (arithmetic mean, sklearn's default) and ARI, as fractions."""
    return Scores(
        acc=hungarian_accuracy(truth, predicted),
        nmi=float(normalized_mutual_info_score(truth, predicted)),
        ari=float(adjusted_rand_score(truth, predicted)),
    )
