"""Topic clusters over L2-normalised text vectors (see `ranking.vectors`).

`TopicClusterer` is spherical k-means (k-means on unit rows, centres renormalised)
with an "other" bucket (-1) for rows too far from every centre. k is either given or
chosen from the data, as its docstring describes. The centres are found on rows
smoothed by their nearest neighbours (`smooth_rows`), which pulls each topic's texts
together; rows are then assigned by their own vectors, so a new text goes to the
cluster a fitted copy of it is in.
"""

from __future__ import annotations

import itertools

import msgspec
import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from ranking.vectors import normalize_rows

OTHER = -1


class KChoice(msgspec.Struct, frozen=True):
    """How k was chosen: the rule, and the score of every k tried (empty when k was given)."""

    method: str
    scores: dict[int, float]


class TopicClusterer:
    """Spherical k-means with an outlier bucket; k given or chosen by silhouette.

    n_clusters: k, or None to choose it. The choice: candidate k from k_min to k_max
    (capped at n // 2; at most `max_candidates` values, spread geometrically so large
    ranges stay cheap), each clustered by k-means on `repeats` random samples of at most
    `sample_size` rows and scored by the mean of their cosine silhouettes. The first
    local maximum wins: the smallest candidate scoring higher than the next one (the
    largest if the scores only rise). On short texts the silhouette keeps creeping up
    with k as near-duplicates pair off, so the global maximum is nearly always k_max;
    the first peak is where the topics are. One sample's curve is noisy where it is
    nearly flat (often between k = 2 and 3): averaged over samples, a dip there no
    longer passes for a peak. The scores are kept in `k_choice_`.
    Smoothing: before k-means, each fitted row is replaced by itself plus
    `neighbour_weight` times the mean of its `n_neighbours` nearest rows (cosine), and
    renormalised (`smooth_rows`): a short text's own words are few, and its neighbours
    say what it is about. Fewer neighbours when topics are small (at most a quarter of
    the average cluster size); 0 turns it off. Smoothing compares every fitted row with
    every other, so when it is on, k-means works on at most `smooth_size` rows (not
    `fit_size`). The smoothed rows only decide where the
    centres are: each cluster's centre is the mean of its rows' own vectors, and every
    row (fitted or new) goes to the nearest centre by its own vector.
    Fitting: k-means on at most `fit_size` rows drawn at random, from `n_init` k-means++
    starts and one start from Ward's agglomerative clustering of at most `ward_size`
    of them (it finds small and unequal topics that k-means++ splits or merges); the
    start whose k-means ends with the lowest inertia wins. Then every row goes to its
    nearest centre and the centres are recomputed from all rows, so 100,000 ideas cost
    about as much as `fit_size`.
    min_similarity: a row whose cosine similarity to its nearest centre is below this
    goes to the "other" bucket (-1); rows of zeros (texts without words) always do.
    None puts every row with words in a cluster.
    n_threads: threads for k-means and the linear algebra (None: the libraries' default).
    One by default: the clusterer shares a small machine with the web workers, and
    OpenMP threads that spin while waiting for a busy core slow k-means down many times.
    After `fit`: `labels_`, `cluster_centers_` (unit rows), `n_clusters_`, `k_choice_`.
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        *,
        k_min: int = 2,
        k_max: int = 30,
        max_candidates: int = 12,
        sample_size: int = 1500,
        repeats: int = 3,
        fit_size: int = 20_000,
        smooth_size: int = 10_000,
        n_neighbours: int = 10,
        neighbour_weight: float = 1.0,
        n_init: int = 4,
        ward_size: int = 3000,
        min_similarity: float | None = 0.2,
        n_threads: int | None = 1,
        random_state: int | None = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.k_min = k_min
        self.k_max = k_max
        self.max_candidates = max_candidates
        self.sample_size = sample_size
        self.repeats = repeats
        self.fit_size = fit_size
        self.smooth_size = smooth_size
        self.n_neighbours = n_neighbours
        self.neighbour_weight = neighbour_weight
        self.n_init = n_init
        self.ward_size = ward_size
        self.min_similarity = min_similarity
        self.n_threads = n_threads
        self.random_state = random_state

    def fit(self, x: np.ndarray, y: object = None) -> TopicClusterer:
        with threadpool_limits(self.n_threads):
            return self._fit(np.asarray(x, dtype=np.float32))

    def _fit(self, x: np.ndarray) -> TopicClusterer:
        rng = np.random.default_rng(self.random_state)
        with_words = np.flatnonzero(np.linalg.norm(x, axis=1) > 0)
        if len(with_words) == 0:
            raise ValueError("cannot cluster: no row has any words")
        rows = x[with_words]
        if self.n_clusters is not None:
            if not 1 <= self.n_clusters <= len(rows):
                raise ValueError(f"n_clusters must be between 1 and {len(rows)}")
            k, self.k_choice_ = self.n_clusters, KChoice("given", {})
        else:
            k, self.k_choice_ = self._choose_k(rows, rng)
        size = self.fit_size if self.n_neighbours < 2 else min(self.fit_size, self.smooth_size)
        fit_rows = rows
        if len(rows) > size:
            fit_rows = rows[rng.choice(len(rows), size, replace=False)]
        neighbours = min(self.n_neighbours, len(fit_rows) // (4 * k))
        shaped = fit_rows
        if neighbours >= 2:
            shaped = smooth_rows(fit_rows, neighbours, self.neighbour_weight, rng)
        found = self._best_kmeans(shaped, k, rng)
        centres = _centres(fit_rows, found.labels_, normalize_rows(found.cluster_centers_))
        nearest = np.argmax(rows @ normalize_rows(centres).T, axis=1)
        self.cluster_centers_ = _centres(rows, nearest, centres)
        self.n_clusters_ = len(self.cluster_centers_)
        self.labels_ = self.predict(x)
        return self

    def fit_predict(self, x: np.ndarray, y: object = None) -> np.ndarray:
        return self.fit(x).labels_

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The nearest centre of each row, or -1 when it is too far from all of them."""
        if not hasattr(self, "cluster_centers_"):
            raise ValueError("TopicClusterer is not fitted yet; call fit first")
        similarity = np.asarray(x, dtype=np.float32) @ self.cluster_centers_.T
        labels = np.argmax(similarity, axis=1)
        best = similarity[np.arange(len(labels)), labels]
        floor = -np.inf if self.min_similarity is None else self.min_similarity
        far = (best < floor) | ~np.any(similarity != 0, axis=1)
        labels[far] = OTHER
        return labels

    def _kmeans(self, x: np.ndarray, k: int, rng: np.random.Generator, n_init: int = 0) -> KMeans:
        return KMeans(
            k, n_init=n_init or self.n_init, random_state=int(rng.integers(2**31 - 1))
        ).fit(x)

    def _best_kmeans(self, x: np.ndarray, k: int, rng: np.random.Generator) -> KMeans:
        best = self._kmeans(x, k, rng)
        if self.ward_size and k > 1:
            sample = x
            if len(x) > self.ward_size:
                sample = x[rng.choice(len(x), self.ward_size, replace=False)]
            if len(np.unique(sample, axis=0)) >= k:
                tree = AgglomerativeClustering(k, linkage="ward").fit(sample)
                start = _centres(sample, tree.labels_, np.zeros((k, x.shape[1]), np.float32))
                ward = KMeans(k, init=start, n_init=1).fit(x)
                if ward.inertia_ < best.inertia_:
                    best = ward
        return best

    def _choose_k(self, rows: np.ndarray, rng: np.random.Generator) -> tuple[int, KChoice]:
        whole = len(rows) <= self.sample_size  # one sample is all there is: no need for more
        samples = [
            rows if whole else rows[rng.choice(len(rows), self.sample_size, replace=False)]
            for _ in range(1 if whole else max(self.repeats, 1))
        ]
        size = len(samples[0])
        distinct = min(len(np.unique(sample, axis=0)) for sample in samples)
        high = min(self.k_max, size // 2, distinct - 1)
        low = min(max(self.k_min, 2), high)
        if high < 2:  # one cluster is all the data can say
            return 1, KChoice("too few distinct rows to compare k", {})
        candidates = np.unique(
            np.round(np.geomspace(low, high, min(self.max_candidates, high - low + 1)))
        ).astype(int)
        scores: dict[int, float] = {}
        for k in candidates:
            silhouettes = [
                silhouette_score(
                    sample, self._kmeans(sample, int(k), rng, n_init=2).labels_, metric="cosine"
                )
                for sample in samples
            ]
            scores[int(k)] = float(np.mean(silhouettes))
        tried = list(scores)
        best = next(
            (k for k, after in itertools.pairwise(tried) if scores[k] > scores[after]),
            tried[-1],
        )
        rule = (
            f"first peak of silhouette (cosine), mean of {len(samples)} samples of {size} rows,"
            f" k in [{low}, {high}]"
        )
        return best, KChoice(rule, scores)


def _centres(rows: np.ndarray, labels: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Unit mean of each cluster's rows (the fitted centre if a cluster lost every row)."""
    k = len(fallback)
    sums = np.zeros((k, rows.shape[1]), dtype=np.float32)
    np.add.at(sums, labels, rows)
    empty = np.bincount(labels, minlength=k) == 0
    sums[empty] = fallback[empty]
    return normalize_rows(sums)


def smooth_rows(
    x: np.ndarray, n_neighbours: int, weight: float, rng: np.random.Generator
) -> np.ndarray:
    """Each unit row plus `weight` times the mean of its `n_neighbours` nearest other rows
    (cosine), renormalised."""
    neighbours = nearest_rows(x, n_neighbours, rng)
    total = np.zeros_like(x)
    for column in neighbours.T:  # one neighbour at a time: no (rows, n, width) array
        total += x[column]
    return normalize_rows((x + (weight / n_neighbours) * total).astype(np.float32, copy=False))


def nearest_rows(
    x: np.ndarray, n_neighbours: int, rng: np.random.Generator, block: int = 1024
) -> np.ndarray:
    """The indices of each row's `n_neighbours` most similar other rows (dot product).

    Exact, and cheaper than sorting every row of similarities: the n-th best similarity
    to a random subset of the rows is a floor that at most a few times n of all rows
    pass, and only those are sorted.
    """
    n = len(x)
    if not 1 <= n_neighbours < n:
        raise ValueError(f"n_neighbours must be between 1 and {n - 1}")
    probe = rng.choice(n, min(n, max(4 * n_neighbours, n // 10, 200)), replace=False)
    out = np.empty((n, n_neighbours), dtype=np.int64)
    for first in range(0, n, block):
        sims = x[first : first + block] @ x.T
        rows = np.arange(len(sims))
        sims[rows, first + rows] = -np.inf  # a row is not its own neighbour
        # The n-th best in the probe; finite, since the probe holds n other rows.
        floor = np.partition(sims[:, probe], len(probe) - n_neighbours, axis=1)
        floor = floor[:, len(probe) - n_neighbours]
        row, col = np.nonzero(sims >= floor[:, None])
        order = np.lexsort((-sims[row, col], row))
        row, col = row[order], col[order]
        starts = np.searchsorted(row, rows)
        out[first : first + len(sims)] = col[starts[:, None] + np.arange(n_neighbours)]
    return out
