"""Text vectors for topic clusters and similar-idea search.

`TextVectorizer` turns short texts into dense, L2-normalised float32 rows. With the
optional `wordllama` package (the `embeddings` extra: static token embeddings whose
weights ship inside the wheel) a row is the sum of the text's token embeddings,
concatenated with a weighted TF-IDF + SVD block; the two views err differently, and
together they cluster better than either alone (docs/benchmarks.md, "Topic clusters").
From 1,000 texts up a third block adds what the corpus itself says about its words:
each word's vector from an SVD of the positive pointwise mutual information of words
appearing in the same text (Levy and Goldberg 2014), summed per text by TF-IDF weight.
Without the package, or with method="tfidf", a row is the TF-IDF + SVD block alone.
Nothing is ever downloaded: the model loads from the package's own folder.

Texts are split into lower-cased words once (one regular-expression pass over the
whole corpus); each distinct word is embedded once, as the sum of its wordllama
tokens, so a text's embedding is a sparse word-count product. That is what makes
100,000 texts fast: the tokenizer sees each word once, not each text.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.utils.extmath import randomized_svd
from threadpoolctl import threadpool_limits

try:  # Optional; tests set this to None to check the fallback without uninstalling.
    from wordllama import WordLlama
except ImportError:  # pragma: no cover - depends on the installed extras
    WordLlama = None

METHODS = ("auto", "combined", "tfidf")

_WORDS = re.compile(r"\w\w+|\n")  # scikit-learn's default token pattern, plus a text break
_SMALL_CORPUS = 1000  # below this, a word seen once still carries a topic (a jam's first hour)
_SVD_SAMPLE = 10_000  # the TF-IDF directions are learned from at most this many texts
_ENCODE_CHUNK = 2_000  # words per tokenizer call when embedding a vocabulary
_CONTEXT_SMOOTHING = 0.75  # PPMI's context-distribution smoothing (Levy et al. 2015)
_COOCCURRENCE_SAMPLE = 20_000  # words seen together are counted in at most this many texts
# ...and in at most this many (ordered) pairs of words: a text of n words makes n(n - 1), so
# long texts would make the counting grow with the square of their length. The labelled
# short-text sets fit whole (5.3 million at most); longer texts are sampled down to it.
_PAIR_BUDGET = 6_000_000


def embeddings_available() -> bool:
    return WordLlama is not None


@functools.cache
def _word_embeddings() -> tuple[Any, np.ndarray]:
    """The wordllama tokenizer (without padding) and its token-embedding table, loaded once.

    `cache_dir` points at the package itself, where the weights and tokenizer ship, and
    `disable_download` turns a missing file into an error instead of a network call.
    """
    import wordllama

    model = WordLlama.load(cache_dir=wordllama.__path__[0], disable_download=True)
    tokenizer = model.tokenizer
    tokenizer.no_padding()
    return tokenizer, np.ascontiguousarray(model.embedding, dtype=np.float32)


def embed_words(words: Sequence[str]) -> np.ndarray:
    """Each word's vector: the sum of its wordllama token embeddings (zero if it has none)."""
    tokenizer, table = _word_embeddings()
    out = np.zeros((len(words), table.shape[1]), dtype=np.float32)
    for first in range(0, len(words), _ENCODE_CHUNK):
        chunk = words[first : first + _ENCODE_CHUNK]
        starts = np.cumsum([0] + [len(w) + 1 for w in chunk[:-1]])
        encoding = tokenizer.encode(" ".join(chunk), add_special_tokens=False)
        ends = np.fromiter((end for _, end in encoding.offsets), dtype=np.int64)
        # A token belongs to the word its last character falls in (a lone word-start
        # marker ends where its word starts).
        owner = np.searchsorted(starts, ends, side="right") - 1
        ids = np.clip(np.asarray(encoding.ids, dtype=np.int64), 0, table.shape[0] - 1)
        np.add.at(out, first + owner, table[ids])
    return out


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows in place; all-zero rows (blank texts) stay zero instead of NaN."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def split_words(texts: Sequence[str]) -> list[str]:
    """All the texts' lower-cased words in order, each text followed by a break ("\\n")."""
    return _WORDS.findall("\n".join(t.replace("\n", " ") for t in texts).lower() + "\n")


def _columns(tokens: list[str], vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each word's column (-1 if not in `vocabulary`) and the text it belongs to."""
    ids = np.fromiter(
        map(vocabulary.get, tokens, itertools.repeat(-1)), dtype=np.int64, count=len(tokens)
    )
    breaks = ids == -2
    owner = np.cumsum(breaks)[~breaks]
    return ids[~breaks], owner


class TextVectorizer:
    """Short texts to dense L2-normalised float32 rows; a text without words gives a zero row.

    method: "auto" (word embeddings + TF-IDF-SVD when `wordllama` is importable, else
    TF-IDF-SVD), "combined" (needs `wordllama`) or "tfidf".
    n_components: size of the TF-IDF-SVD block (fewer when the vocabulary is smaller).
    tfidf_weight: scale of the TF-IDF-SVD block beside the unit-length embedding block.
    sif: smooth inverse frequency (Arora et al. 2017): a word's embedding weighs
    sif / (sif + its share of the corpus's words), so frequent words count less; None
    weighs every word alike. remove_common: also subtract the embeddings' first
    principal direction, which mostly says "this is English text" and hides topics.
    Both only when fitting on 1,000 texts or more.
    cooccurrence_weight: scale of the corpus's own word vectors (a PPMI + SVD of words
    seen in the same text, `n_cooccurrence` directions, counted in at most 20,000 texts),
    summed per text by TF-IDF weight; 0 or None leaves it out. With the embeddings only,
    and from 1,000 texts up.
    n_threads: threads for the linear algebra while fitting (None: the libraries'
    default); one by default, as in `TopicClusterer`: on a busy small machine, BLAS
    threads waiting for a core cost more than they gain.
    After `fit`: `method_`, `vocabulary_` (word -> column), `idf_` (zero for stop words and
    words too rare to count), `components_` (the SVD directions), `cooccurrence_` (each
    word's corpus vector, or None), `n_features_out_`.
    """

    def __init__(
        self,
        method: str = "auto",
        n_components: int = 100,
        tfidf_weight: float = 0.7,
        sif: float | None = 1e-3,
        remove_common: bool = True,
        cooccurrence_weight: float | None = 0.7,
        n_cooccurrence: int = 50,
        n_threads: int | None = 1,
        random_state: int | None = 0,
    ) -> None:
        self.method = method
        self.n_components = n_components
        self.tfidf_weight = tfidf_weight
        self.sif = sif
        self.remove_common = remove_common
        self.cooccurrence_weight = cooccurrence_weight
        self.n_cooccurrence = n_cooccurrence
        self.n_threads = n_threads
        self.random_state = random_state

    def fit(self, texts: Sequence[str], y: object = None) -> TextVectorizer:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str], y: object = None) -> np.ndarray:
        with threadpool_limits(self.n_threads):
            return self._fit_transform(texts)

    def _fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.method == "combined" and not embeddings_available():
            raise ValueError('method="combined" needs the optional "embeddings" extra (wordllama)')
        texts = _as_list(texts)
        if not texts:
            raise ValueError("cannot fit on no texts")
        use_embeddings = self.method == "combined" or (
            self.method == "auto" and embeddings_available()
        )
        self.method_ = "combined" if use_embeddings else "tfidf"
        tokens = split_words(texts)
        distinct = dict.fromkeys(tokens)
        del distinct["\n"]
        self.vocabulary_ = dict(zip(distinct, itertools.count()))
        self._lookup = {**self.vocabulary_, "\n": -2}  # a text break is its own mark
        columns, owner = _columns(tokens, self._lookup)
        counts = _count_matrix(owner, columns, len(texts), len(self.vocabulary_))
        self._fit_idf(counts)
        tfidf = self._tfidf(counts)
        self._fit_svd(tfidf)
        self.common_ = None
        self.cooccurrence_ = None
        if use_embeddings:
            self.word_vectors_ = embed_words(list(self.vocabulary_))
            # From fewer texts word frequencies are too noisy to weigh words by.
            frequent_enough = len(texts) >= _SMALL_CORPUS
            if self.sif is not None and frequent_enough:
                share = np.asarray(counts.sum(axis=0)).ravel() / max(counts.sum(), 1)
                self.word_vectors_ *= (self.sif / (self.sif + share)).astype(np.float32)[:, None]
            if self.remove_common and frequent_enough:
                self.common_ = self._common_direction(counts)
            if self.cooccurrence_weight and frequent_enough:
                self.cooccurrence_ = self._fit_cooccurrence(counts)
        self.n_features_out_ = (
            self.components_.shape[0]
            + (self.word_vectors_.shape[1] if use_embeddings else 0)
            + (0 if self.cooccurrence_ is None else self.cooccurrence_.shape[1])
        )
        return self._assemble(counts, tfidf, extra=None)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if not hasattr(self, "method_"):
            raise ValueError("TextVectorizer is not fitted yet; call fit first")
        texts = _as_list(texts)
        tokens = split_words(texts)
        columns, owner = _columns(tokens, self._lookup)
        known = columns >= 0
        counts = _count_matrix(owner[known], columns[known], len(texts), len(self.vocabulary_))
        extra = None
        if self.method_ == "combined" and not known.all():
            # Words the corpus never had still carry meaning for the embedding block.
            words = [t for t in tokens if t != "\n"]
            unknown = [w for w, k in zip(words, known, strict=True) if not k]
            extra = np.zeros((len(texts), self.word_vectors_.shape[1]), dtype=np.float32)
            np.add.at(extra, owner[~known], embed_words(unknown))
        return self._assemble(counts, self._tfidf(counts), extra)

    def _common_direction(self, counts: sp.csr_matrix) -> np.ndarray:
        rng = np.random.default_rng(self.random_state)
        if counts.shape[0] > _SVD_SAMPLE:
            counts = counts[np.sort(rng.choice(counts.shape[0], _SVD_SAMPLE, replace=False))]
        embedded = normalize_rows(np.asarray(counts @ self.word_vectors_, dtype=np.float32))
        _, axes = np.linalg.eigh(embedded.T @ embedded)  # the top right-singular vector
        return axes[:, -1].astype(np.float32)

    def _fit_cooccurrence(self, counts: sp.csr_matrix) -> np.ndarray | None:
        """Each word's vector from the PPMI of words in the same text, factored by SVD.

        Only words with a weight (`idf_` above zero) take part; the others get zero rows.
        """
        rng = np.random.default_rng(self.random_state)
        if counts.shape[0] > _COOCCURRENCE_SAMPLE:
            chosen = rng.choice(counts.shape[0], _COOCCURRENCE_SAMPLE, replace=False)
            counts = counts[np.sort(chosen)]
        used = np.flatnonzero(self.idf_)
        present = counts[:, used]
        present.data[:] = 1
        present = within_pairs(present, _PAIR_BUDGET, rng)
        together = (present.T @ present).tocoo()
        off_diagonal = together.row != together.col
        row, col = together.row[off_diagonal], together.col[off_diagonal]
        pairs = together.data[off_diagonal].astype(np.float64)
        del together
        totals = np.bincount(row, weights=pairs, minlength=len(used))
        context = totals**_CONTEXT_SMOOTHING
        # In place where it can be (these arrays are as long as the pairs counted), in the
        # order of count * total / (row total * context): the same figures to the last bit.
        expected = totals[row]
        expected *= context[col]
        pairs *= context.sum()
        pairs /= expected
        del expected
        pmi = np.log(pairs, out=pairs)  # every count here is positive: no log of zero
        positive = pmi > 0
        ppmi = sp.csr_matrix(
            (pmi[positive], (row[positive], col[positive])), shape=(len(used), len(used))
        )
        n_components = min(self.n_cooccurrence, len(used) - 1)
        if n_components < 2 or ppmi.nnz == 0:
            return None
        u, s, _ = randomized_svd(
            ppmi, n_components, n_iter=4, random_state=int(rng.integers(2**31 - 1))
        )
        vectors = np.zeros((counts.shape[1], n_components), dtype=np.float32)
        vectors[used] = u * np.sqrt(s)
        return vectors

    def _fit_idf(self, counts: sp.csr_matrix) -> None:
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)  # sklearn's smooth idf
        stop = np.fromiter((w in ENGLISH_STOP_WORDS for w in self.vocabulary_), dtype=bool)
        idf[stop | (df < (1 if n < _SMALL_CORPUS else 2))] = 0
        self.idf_ = idf

    def _tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        weighted = counts.copy()
        weighted.data = (1 + np.log(weighted.data)) * self.idf_[weighted.indices]
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        return sp.diags(np.divide(1, norms, out=np.zeros_like(norms), where=norms > 0)) @ weighted

    def _fit_svd(self, tfidf: sp.csr_matrix) -> None:
        rng = np.random.default_rng(self.random_state)
        sample = tfidf
        if tfidf.shape[0] > _SVD_SAMPLE:
            sample = tfidf[np.sort(rng.choice(tfidf.shape[0], _SVD_SAMPLE, replace=False))]
        used = np.flatnonzero(self.idf_)
        n_components = min(self.n_components, len(used) - 1, sample.shape[0] - 1)
        if n_components < 2:  # too few words to reduce: keep them as they are
            self.components_ = sp.identity(tfidf.shape[1], format="csr", dtype=np.float32)[used]
        else:
            _, _, vt = randomized_svd(
                sample, n_components, n_iter=3, random_state=int(rng.integers(2**31 - 1))
            )
            self.components_ = vt.astype(np.float32)

    def _assemble(
        self, counts: sp.csr_matrix, tfidf: sp.csr_matrix, extra: np.ndarray | None
    ) -> np.ndarray:
        block = tfidf @ self.components_.T
        block = normalize_rows(np.asarray(block.todense() if sp.issparse(block) else block))
        if self.method_ == "tfidf":
            return block.astype(np.float32, copy=False)
        embedded = np.asarray(counts @ self.word_vectors_, dtype=np.float32)
        if extra is not None:
            embedded += extra
        embedded = normalize_rows(embedded)
        if self.common_ is not None:
            embedded -= np.outer(embedded @ self.common_, self.common_)
            embedded = normalize_rows(embedded)
        blocks = [embedded, self.tfidf_weight * block]
        if self.cooccurrence_ is not None:
            corpus = normalize_rows(np.asarray(tfidf @ self.cooccurrence_, dtype=np.float32))
            blocks.append(self.cooccurrence_weight * corpus)
        return normalize_rows(np.hstack(blocks, dtype=np.float32))


def within_pairs(present: sp.csr_matrix, budget: int, rng: np.random.Generator) -> sp.csr_matrix:
    """The rows (texts of distinct words) whose pairs of words, n(n - 1) for n words, come
    to at most `budget`: all of them if they fit, else a random draw that fits."""
    words = np.diff(present.indptr).astype(np.int64)
    cost = words * (words - 1)
    if cost.sum() <= budget:
        return present
    order = rng.permutation(present.shape[0])
    order = order[cost[order] <= budget]  # a text too long to fit alone is left out
    kept = order[np.cumsum(cost[order]) <= budget]
    return present[np.sort(kept)]


def _count_matrix(rows: np.ndarray, columns: np.ndarray, n: int, width: int) -> sp.csr_matrix:
    ones = np.ones(len(columns), dtype=np.float32)
    counts = sp.csr_matrix((ones, (rows, columns)), shape=(n, width))
    counts.sum_duplicates()
    return counts


def _as_list(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a sequence of texts, not one string")
    return [t if isinstance(t, str) else "" for t in texts]
