"""Text vectors: unit rows, blank texts, the TF-IDF path without the embedding package."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import ranking.vectors
from ranking.config import RankingConfig
from ranking.engine import default_engine
from ranking.vectors import TextVectorizer, embeddings_available, within_pairs
from tests.ranking.corpus import ideas
from tests.ranking.snapshots import Jam

needs_embeddings = pytest.mark.skipif(
    not embeddings_available(), reason="the optional embeddings extra (wordllama) is not installed"
)


@pytest.fixture
def without_wordllama(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranking.vectors, "WordLlama", None)


@pytest.mark.parametrize("method", ["auto", "tfidf"])
def test_rows_are_unit_float32_and_repeatable(method: str) -> None:
    texts, _ = ideas()
    first = TextVectorizer(method=method, random_state=3).fit_transform(texts)
    again = TextVectorizer(method=method, random_state=3).fit(texts).transform(texts)
    assert first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(first, again, atol=1e-6)


@needs_embeddings
def test_auto_uses_word_embeddings_when_installed() -> None:
    texts, _ = ideas()
    vectorizer = TextVectorizer().fit(texts)
    assert vectorizer.method_ == "combined"
    assert vectorizer.n_features_out_ == vectorizer.transform(texts[:1]).shape[1]


def test_auto_falls_back_to_tfidf_without_wordllama(without_wordllama: None) -> None:
    texts, _ = ideas()
    vectorizer = TextVectorizer().fit(texts)
    assert vectorizer.method_ == "tfidf"
    assert vectorizer.transform(texts).shape == (len(texts), vectorizer.n_features_out_)


def test_combined_without_wordllama_is_refused(without_wordllama: None) -> None:
    with pytest.raises(ValueError, match="embeddings"):
        TextVectorizer(method="combined").fit(["solar roof"])


@pytest.mark.parametrize("method", ["auto", "tfidf"])
def test_blank_texts_give_zero_rows_not_nan(method: str) -> None:
    texts, _ = ideas()
    vectorizer = TextVectorizer(method=method).fit([*texts, "", "   "])
    rows = vectorizer.transform(["", "  \n ", "!!", "solar panels on the roof"])
    assert np.isfinite(rows).all()
    assert np.linalg.norm(rows, axis=1).round(5).tolist() == [0, 0, 0, 1]


@needs_embeddings
def test_words_the_corpus_never_saw_still_carry_meaning() -> None:
    texts, _ = ideas()
    vectorizer = TextVectorizer().fit(texts)
    unseen = vectorizer.transform(["photovoltaic"])
    assert np.linalg.norm(unseen) == pytest.approx(1, rel=1e-5)


def test_similar_texts_are_closer_than_different_ones() -> None:
    texts, _ = ideas()
    vectorizer = TextVectorizer().fit(texts)
    solar, battery, coffee = vectorizer.transform(
        ["solar panels on the roof", "a battery for the solar energy", "espresso in the canteen"]
    )
    assert solar @ battery > solar @ coffee


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        TextVectorizer(method="bert").fit(["x"])
    with pytest.raises(ValueError, match="no texts"):
        TextVectorizer().fit([])
    with pytest.raises(TypeError, match="sequence"):
        TextVectorizer().fit("one string")
    with pytest.raises(ValueError, match="not fitted"):
        TextVectorizer().transform(["x"])


@needs_embeddings
def test_word_frequencies_weigh_words_only_in_a_big_enough_corpus() -> None:
    small, _ = ideas(per_topic=15)
    big, _ = ideas(per_topic=250)
    assert TextVectorizer().fit(small).common_ is None
    assert TextVectorizer().fit(big).common_ is not None
    assert TextVectorizer(remove_common=False).fit(big).common_ is None


@needs_embeddings
def test_the_corpus_word_vectors_join_only_in_a_big_enough_corpus() -> None:
    small, _ = ideas(per_topic=15)
    big, _ = ideas(per_topic=250)
    assert TextVectorizer().fit(small).cooccurrence_ is None
    fitted = TextVectorizer().fit(big)
    assert fitted.cooccurrence_ is not None
    assert fitted.cooccurrence_.shape[0] == len(fitted.vocabulary_)
    assert not fitted.cooccurrence_[fitted.idf_ == 0].any()  # stop words have no vector
    assert fitted.transform(big[:3]).shape == (3, fitted.n_features_out_)
    assert TextVectorizer(cooccurrence_weight=None).fit(big).cooccurrence_ is None


@pytest.mark.parametrize("embeddings", [pytest.param(True, marks=needs_embeddings), False])
def test_a_ranking_records_which_vectors_fed_its_topics(
    embeddings: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same log and weights rank differently with each kind of vectors, so the
    # version a ranking records names them.
    if not embeddings:
        monkeypatch.setattr(ranking.vectors, "WordLlama", None)
    jam = Jam()
    for n in range(12):
        jam.idea(f"i{n}")
    refreshed = default_engine().run(jam.snapshot(), None)
    kind = "embeddings" if embeddings else "tfidf"
    assert refreshed.ranking.config_version == f"{RankingConfig().version}+{kind}"


def test_words_are_counted_together_within_a_budget_of_pairs() -> None:
    # A text of n words makes n(n - 1) pairs: long ideas would make counting grow with the
    # square of their length, so texts are drawn until the pairs fill the budget.
    rng = np.random.default_rng(0)
    lengths = [3, 40, 5, 200, 2, 60]
    present = sp.csr_matrix(
        (
            [1] * sum(lengths),
            np.concatenate([np.arange(n) for n in lengths]),
            np.concatenate([[0], np.cumsum(lengths)]),
        ),
        shape=(len(lengths), 300),
    )
    assert within_pairs(present, 10**9, rng) is present  # fits: every text
    drawn = within_pairs(present, 5_000, rng)
    words = np.diff(drawn.indptr)
    assert 0 < drawn.shape[0] < len(lengths)
    assert int((words * (words - 1)).sum()) <= 5_000
    assert 200 not in words  # 39,800 pairs: never fits
