"""Topic clusters: k from the data, outliers in -1, repeatable, ids that survive refreshes."""

from __future__ import annotations

import numpy as np
import pytest

import ranking.clustering
from ranking.clustering import OTHER, TopicClusterer, nearest_rows, smooth_rows
from ranking.describe import key_terms, map_positions, match_clusters, representatives
from ranking.quality import score
from ranking.vectors import TextVectorizer, normalize_rows
from tests.ranking.corpus import TOPICS, ideas


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[int], np.ndarray]:
    texts, topics = ideas()
    return texts, topics, TextVectorizer(random_state=0).fit_transform(texts)


def test_k_is_chosen_within_bounds_and_finds_the_obvious_topics(corpus) -> None:
    _, topics, x = corpus
    clusterer = TopicClusterer(k_min=2, k_max=8, random_state=0).fit(x)
    assert clusterer.k_choice_.method.startswith("first peak of silhouette")
    assert set(clusterer.k_choice_.scores) <= set(range(2, 9))
    assert clusterer.n_clusters_ == len(TOPICS)
    assert score(topics, clusterer.labels_).acc == 1.0


def test_k_is_scored_on_several_samples_of_a_large_jam_and_on_all_of_a_small_one(
    corpus, monkeypatch
) -> None:
    # One sample's silhouette curve is noisy where it is flat: a large jam's is averaged
    # over `repeats` samples; a jam no larger than a sample is scored once, on all of it.
    _, _, x = corpus
    scored: list[int] = []
    silhouette = ranking.clustering.silhouette_score

    def counted(sample, labels, **kw):
        scored.append(len(sample))
        return silhouette(sample, labels, **kw)

    monkeypatch.setattr(ranking.clustering, "silhouette_score", counted)
    small = TopicClusterer(k_min=2, k_max=8, random_state=0).fit(x)
    assert set(scored) == {len(x)}
    assert len(scored) == len(small.k_choice_.scores)
    scored.clear()
    sampled = TopicClusterer(k_min=2, k_max=8, sample_size=len(x) // 2, random_state=0).fit(x)
    assert set(scored) == {len(x) // 2}
    assert len(scored) == 3 * len(sampled.k_choice_.scores)
    assert "mean of 3 samples" in sampled.k_choice_.method


def test_an_explicit_k_is_used(corpus) -> None:
    _, _, x = corpus
    clusterer = TopicClusterer(n_clusters=3, random_state=0).fit(x)
    assert clusterer.n_clusters_ == 3
    assert clusterer.k_choice_.method == "given"
    np.testing.assert_allclose(np.linalg.norm(clusterer.cluster_centers_, axis=1), 1, rtol=1e-5)


def test_same_random_state_same_clusters(corpus) -> None:
    _, _, x = corpus
    first = TopicClusterer(random_state=5).fit(x)
    second = TopicClusterer(random_state=5).fit(x)
    assert first.labels_.tolist() == second.labels_.tolist()
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)
    assert first.k_choice_ == second.k_choice_


def test_fitting_on_a_sample_assigns_every_row(corpus) -> None:
    _, topics, x = corpus
    clusterer = TopicClusterer(n_clusters=4, fit_size=20, random_state=0).fit(x)
    assert len(clusterer.labels_) == len(x)
    assert score(topics, clusterer.labels_).acc == 1.0


def test_outliers_and_blank_texts_go_to_other(corpus) -> None:
    texts, _, _ = corpus
    odd = ["quarterly tax audit of invoices", ""]
    vectorizer = TextVectorizer(method="tfidf", random_state=0)
    x = vectorizer.fit_transform([*texts, *odd])
    clusterer = TopicClusterer(n_clusters=4, min_similarity=0.3, random_state=0).fit(x)
    assert clusterer.labels_[-2:].tolist() == [OTHER, OTHER]
    assert (clusterer.labels_[:-2] != OTHER).all()
    assert clusterer.predict(vectorizer.transform(["zebra", "solar roof battery"]))[0] == OTHER


def test_without_a_floor_every_row_with_words_is_clustered(corpus) -> None:
    texts, _, _ = corpus
    x = TextVectorizer(method="tfidf").fit_transform([*texts, "quarterly tax audit", ""])
    labels = TopicClusterer(n_clusters=4, min_similarity=None).fit(x).labels_
    assert (labels[:-1] != OTHER).all()
    assert labels[-1] == OTHER


def test_a_new_idea_goes_to_its_topic(corpus) -> None:
    texts, topics, _ = corpus
    vectorizer = TextVectorizer(random_state=0)
    clusterer = TopicClusterer(n_clusters=4, random_state=0).fit(vectorizer.fit_transform(texts))
    cycling = clusterer.labels_[topics.index(0)]
    assert clusterer.predict(vectorizer.transform(["more bike racks and a shower"])) == [cycling]


def test_key_terms_pick_each_clusters_distinctive_words(corpus) -> None:
    texts, topics, _ = corpus
    terms = key_terms(texts, topics, n=3)
    for index, words in enumerate(TOPICS.values()):
        assert len(terms[index]) == 3
        assert set(terms[index]) <= set(words.split())


def test_a_phrase_every_idea_ends_with_names_no_topic_even_a_merged_one() -> None:
    # Merged from two topics, a cluster's own words are each half as frequent as the
    # phrase every idea carries: without a rule, the phrase would name it.
    tail = " a small pilot first then more if it works"
    solar = [f"solar panels roof {w}{tail}" for w in ("office", "depot", "plant")]
    trains = [f"night trains travel {w}{tail}" for w in ("europe", "staff", "budget")]
    coffee = [f"coffee beans fair {w}{tail}" for w in ("trade", "price", "cup")]
    texts = solar + trains + coffee
    merged = [0] * 6 + [1] * 3  # solar and trains merged by an organizer
    terms = key_terms(texts, merged, n=3)
    for words in terms.values():
        assert not {"pilot", "small", "works"} & set(words), terms
    assert set(terms[1]) <= {"coffee", "beans", "fair", "trade", "price", "cup"}


def test_key_terms_skip_the_other_bucket() -> None:
    assert key_terms(["solar roof", "coffee beans", "zebra"], [0, 1, OTHER], n=2) == {
        0: ["roof", "solar"],
        1: ["beans", "coffee"],
    }


def test_representatives_are_the_most_central_rows() -> None:
    x = np.array([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8]])
    centers = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert representatives(x, [0, 0, 1, 1], centers, n=2) == {0: [0, 1], 1: [2, 3]}


def test_map_positions_put_similar_topics_close() -> None:
    centers = np.array([[1, 0, 0], [0.95, 0.31, 0], [0, 0, 1.0]])
    positions = map_positions(centers, random_state=0)
    assert positions.shape == (3, 2)
    assert np.abs(positions).max() == pytest.approx(1)
    near = np.linalg.norm(positions[0] - positions[1])
    assert near < np.linalg.norm(positions[0] - positions[2])
    assert map_positions(centers[:1]).tolist() == [[0, 0]]


def test_match_clusters_keeps_ids_across_a_refresh(corpus) -> None:
    _, _, x = corpus
    old = TopicClusterer(n_clusters=4, random_state=1).fit(x)
    new = TopicClusterer(n_clusters=5, random_state=2).fit(x[::-1])
    matched = match_clusters(old.cluster_centers_, new.cluster_centers_, min_similarity=0.8)
    assert sorted(matched.values()) == [0, 1, 2, 3]
    for new_index, old_index in matched.items():
        assert new.cluster_centers_[new_index] @ old.cluster_centers_[old_index] > 0.8
    assert len(matched) == 4  # the fifth, new cluster keeps no old id


def test_dissimilar_clusters_are_not_matched() -> None:
    assert match_clusters(np.eye(2), np.array([[0.6, 0.8]])) == {0: 1}
    assert match_clusters(np.eye(2), np.array([[0.6, 0.8]]), min_similarity=0.9) == {}
    assert match_clusters(np.eye(3)[:2], np.eye(3)[2:], min_similarity=0.5) == {}
    assert match_clusters(np.zeros((0, 3)), np.eye(3)) == {}


def test_bad_k_is_refused(corpus) -> None:
    _, _, x = corpus
    with pytest.raises(ValueError, match="n_clusters"):
        TopicClusterer(n_clusters=0).fit(x)
    with pytest.raises(ValueError, match="no row"):
        TopicClusterer().fit(np.zeros((3, 4)))


@pytest.mark.parametrize("method", ["auto", "tfidf"])
def test_a_corpus_of_blank_texts_is_refused_clearly(method: str) -> None:
    x = TextVectorizer(method=method).fit_transform(["", "  ", "\n"])
    assert not x.any()
    with pytest.raises(ValueError, match="no row has any words"):
        TopicClusterer().fit(x)


def test_k_is_the_first_peak_of_the_silhouette_not_the_highest(corpus, monkeypatch) -> None:
    # Rises to a peak at 4, dips, then creeps higher as more clusters pair off duplicates.
    silhouettes = {2: 0.10, 3: 0.12, 4: 0.15, 5: 0.13, 6: 0.14, 7: 0.16, 8: 0.20}
    monkeypatch.setattr(
        ranking.clustering,
        "silhouette_score",
        lambda x, labels, metric: silhouettes[len(set(labels))],
    )
    _, _, x = corpus
    clusterer = TopicClusterer(k_min=2, k_max=8, random_state=0).fit(x)
    scores = clusterer.k_choice_.scores
    assert max(scores, key=scores.__getitem__) == 8
    assert clusterer.n_clusters_ == 4


def test_nearest_rows_are_each_rows_most_similar_other_rows() -> None:
    rng = np.random.default_rng(3)
    x = normalize_rows(rng.normal(size=(300, 16)).astype(np.float32))
    found = nearest_rows(x, 5, np.random.default_rng(0), block=64)
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    expected = np.argsort(-similarity, axis=1)[:, :5]
    assert found.tolist() == expected.tolist()  # in order, best first
    three = nearest_rows(x[:3], 2, np.random.default_rng(0))
    assert [sorted(r) for r in three.tolist()] == [[1, 2], [0, 2], [0, 1]]
    with pytest.raises(ValueError, match="n_neighbours"):
        nearest_rows(x[:3], 3, np.random.default_rng(0))


def test_smoothing_moves_each_row_towards_its_neighbours_mean() -> None:
    x = normalize_rows(np.array([[1, 0.1], [1, 0.3], [0.1, 1], [0.3, 1]], dtype=np.float32))
    smoothed = smooth_rows(x, 1, 0.5, np.random.default_rng(0))
    expected = normalize_rows(x + 0.5 * x[[1, 0, 3, 2]])
    np.testing.assert_allclose(smoothed, expected, rtol=1e-6)


def test_centres_are_found_on_smoothed_rows_and_rows_keep_their_own_vectors(
    corpus, monkeypatch
) -> None:
    _, topics, x = corpus
    calls = []

    def spy(rows, n_neighbours, weight, rng):
        calls.append((len(rows), n_neighbours, weight))
        return smooth_rows(rows, n_neighbours, weight, rng)

    monkeypatch.setattr(ranking.clustering, "smooth_rows", spy)
    clusterer = TopicClusterer(n_clusters=4, min_similarity=None, random_state=0).fit(x)
    # At most a quarter of the average cluster: ten here, fewer for small topics.
    assert calls == [(len(x), min(10, len(x) // 16), 1.0)]
    assert score(topics, clusterer.labels_).acc == 1.0
    # The centres are the means of the members' own rows, and a fitted row is where
    # the same row arriving new would go.
    own = [x[clusterer.labels_ == c].sum(axis=0) for c in range(4)]
    np.testing.assert_allclose(clusterer.cluster_centers_, normalize_rows(np.stack(own)), atol=1e-5)
    assert clusterer.predict(x).tolist() == clusterer.labels_.tolist()

    calls.clear()  # Smoothing compares every row with every other: on a sample of big sets.
    TopicClusterer(n_clusters=2, smooth_size=20, random_state=0).fit(x)
    TopicClusterer(n_clusters=2, smooth_size=20, n_neighbours=0, random_state=0).fit(x)
    assert calls == [(20, 2, 1.0)]

    calls.clear()
    TopicClusterer(n_clusters=len(x) // 7, min_similarity=None, random_state=0).fit(x)
    TopicClusterer(n_clusters=4, n_neighbours=0, random_state=0).fit(x)
    assert calls == []  # topics of about 7 rows, or smoothing turned off: rows as they are
