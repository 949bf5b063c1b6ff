"""Nearest ideas by cosine similarity: "similar ideas already posted" and duplicate pairs.

Exact search over L2-normalised dense vectors: one matrix-vector product, which
at 100,000 ideas of a few hundred dimensions takes milliseconds and needs no
index to tune or rebuild.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from ranking.model import DuplicatePair
from ranking.vectors import embed_words, embeddings_available, normalize_rows

HASHED_DIM = 512
EMBEDDING_DIM = 256  # wordllama's l2_supercat vectors
# Similarities computed at once when looking for duplicates (float32: 128 MB).
MAX_CELLS = 32_000_000


class SimilarityVectorizer:
    """Texts to vectors that mean the same whatever else was posted: nothing to fit.

    Word embeddings (mean of the text's token vectors) when the `embeddings` extra is
    installed; otherwise hashed word and word-pair counts, so that at least shared
    wording is found. Each web worker can embed a typed text and compare it with the
    ideas it indexed earlier without refitting anything.
    """

    def __init__(self, cache_size: int = 200_000) -> None:
        self.method_ = "embeddings" if embeddings_available() else "hashed words"
        self._words: dict[str, np.ndarray] = {}  # each word embedded once
        self._cache_size = cache_size
        self._hash = HashingVectorizer(
            n_features=HASHED_DIM,
            ngram_range=(1, 2),
            alternate_sign=False,
            stop_words="english",
            norm="l2",
        )

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if self.method_ != "embeddings":
            return self._hash.transform(list(texts)).toarray().astype(np.float32)
        analyse = self._hash.build_analyzer()
        words = [[w for w in analyse(t) if " " not in w] for t in texts]
        new = sorted({w for ws in words for w in ws} - self._words.keys())
        if new:
            if len(self._words) + len(new) > self._cache_size:
                self._words.clear()
                new = sorted({w for ws in words for w in ws})
            self._words.update(zip(new, embed_words(new), strict=True))
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for row, ws in enumerate(words):
            for w in ws:
                out[row] += self._words[w]
        return normalize_rows(out)


class SimilarIndex:
    """Vectors of a jam's ideas, grown as ideas arrive; rows never move."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self._vectors = np.zeros((capacity, dim), dtype=np.float32)
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._live = np.zeros(capacity, dtype=bool)

    def __len__(self) -> int:
        return int(self._live[: len(self._ids)].sum())

    def __contains__(self, idea_id: str) -> bool:
        row = self._row.get(idea_id)
        return row is not None and bool(self._live[row])

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add ideas, or replace the vectors of ideas already in (after an edit)."""
        for idea_id, vector in zip(ids, vectors, strict=True):
            row = self._row.get(idea_id)
            if row is None:
                row = len(self._ids)
                if row == len(self._vectors):
                    self._grow()
                self._ids.append(idea_id)
                self._row[idea_id] = row
            self._vectors[row] = vector
            self._live[row] = True

    def remove(self, idea_id: str) -> None:
        """Leave an idea out of results (hidden, or merged as a duplicate)."""
        row = self._row.get(idea_id)
        if row is not None:
            self._live[row] = False

    def search(self, vector: np.ndarray, k: int = 5, min_similarity: float = 0.0):
        """The `k` most similar ideas as (id, similarity), most similar first."""
        n = len(self._ids)
        if n == 0 or k <= 0:
            return []
        sims = self._vectors[:n] @ vector.astype(np.float32)
        sims[~self._live[:n]] = -np.inf
        k = min(k, n)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((top, -sims[top]))]
        return [(self._ids[i], float(sims[i])) for i in top if sims[i] >= min_similarity]

    def _grow(self) -> None:
        size = len(self._vectors) * 2
        vectors = np.zeros((size, self.dim), dtype=np.float32)
        vectors[: len(self._vectors)] = self._vectors
        live = np.zeros(size, dtype=bool)
        live[: len(self._live)] = self._live
        self._vectors, self._live = vectors, live


def duplicate_pairs(
    ids: Sequence[str],
    X: np.ndarray,
    *,
    threshold: float,
    check: Sequence[int] | None = None,
    block: int = 2048,
    groups: Sequence[Hashable] | None = None,
) -> list[DuplicatePair]:
    """For each checked idea, its most similar EARLIER idea if at least `threshold` alike.

    `ids` and the rows of X are in posting order, so the earlier idea of a pair is
    the likely original. `check` limits the search to some rows (new ideas since the
    last refresh); all rows by default. With `groups` (a label per row, e.g. each
    idea's topic), an idea is compared only with earlier ideas of its own group: the
    search then costs about the sum of the groups' squared sizes rather than the
    square of all, for a first refresh of a large jam.
    """
    rows = np.arange(len(ids)) if check is None else np.asarray(check, dtype=int)
    if groups is None:
        return _pairs_among(ids, X, rows, threshold, block)
    labels = np.asarray([str(g) for g in groups])
    checked_labels = labels[rows]
    pairs: list[DuplicatePair] = []
    for label in np.unique(checked_labels):
        members = np.flatnonzero(labels == label)  # in posting order
        local = np.searchsorted(members, rows[checked_labels == label])
        pairs.extend(_pairs_among([ids[m] for m in members], X[members], local, threshold, block))
    order = {idea_id: n for n, idea_id in enumerate(ids)}
    return sorted(pairs, key=lambda p: order[p.idea_id])


def _pairs_among(
    ids: Sequence[str], X: np.ndarray, rows: np.ndarray, threshold: float, block: int
) -> list[DuplicatePair]:
    # Each block of checked rows is compared with every row: bound the block so its
    # similarities stay within MAX_CELLS, whatever the number of ideas.
    block = max(1, min(block, MAX_CELLS // max(1, X.shape[0])))
    pairs = []
    for start in range(0, len(rows), block):
        chunk = rows[start : start + block]
        sims = X[chunk] @ X.T
        # Only earlier ideas can be originals: mask the row itself and everything after.
        later = np.arange(X.shape[0])[None, :] >= chunk[:, None]
        sims[later] = -np.inf
        best = np.argmax(sims, axis=1)
        for n, (row, original) in enumerate(zip(chunk, best, strict=True)):
            sim = float(sims[n, original])
            if sim >= threshold:
                pairs.append(DuplicatePair(ids[row], ids[original], round(sim, 6)))
    return pairs
