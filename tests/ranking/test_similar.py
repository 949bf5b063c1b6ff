"""Similar ideas while typing, and suggested duplicate pairs."""

from __future__ import annotations

import numpy as np
import pytest

from ranking.similar import SimilarIndex, duplicate_pairs


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_search_returns_the_most_similar_ideas_first_and_skips_removed_ones():
    index = SimilarIndex(dim=3, capacity=2)  # grows past its first capacity
    index.add(["a", "b", "c"], np.stack([unit(1, 0, 0), unit(1, 1, 0), unit(0, 0, 1)]))
    assert [i for i, _ in index.search(unit(1, 0.1, 0), k=2)] == ["a", "b"]
    index.remove("a")
    assert "a" not in index
    assert len(index) == 2
    assert [i for i, _ in index.search(unit(1, 0.1, 0), k=2)] == ["b", "c"]
    assert index.search(unit(1, 0.1, 0), k=5, min_similarity=0.5)[0][0] == "b"
    assert len(index.search(unit(1, 0.1, 0), k=5, min_similarity=0.5)) == 1


def test_an_edited_idea_is_found_by_its_new_text():
    index = SimilarIndex(dim=2)
    index.add(["a"], np.stack([unit(1, 0)]))
    index.add(["a"], np.stack([unit(0, 1)]))
    assert len(index) == 1
    assert index.search(unit(0, 1), k=1)[0][1] > 0.99


def test_an_empty_index_finds_nothing():
    assert SimilarIndex(dim=2).search(unit(1, 0)) == []


def test_duplicates_point_from_the_later_idea_to_the_earlier_one():
    ids = ["first", "other", "copy", "near-copy"]
    X = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(1, 0.01, 0), unit(1, 0.05, 0)])
    pairs = duplicate_pairs(ids, X, threshold=0.95)
    assert [(p.idea_id, p.original_id) for p in pairs] == [
        ("copy", "first"),
        ("near-copy", "copy"),
    ]
    only_new = duplicate_pairs(ids, X, threshold=0.95, check=[3], block=1)
    assert [(p.idea_id, p.original_id) for p in only_new] == [("near-copy", "copy")]
    assert duplicate_pairs(ids, X, threshold=0.99999) == []


def test_duplicates_within_groups_compare_an_idea_only_with_earlier_ideas_of_its_group():
    ids = ["first", "other", "copy", "near-copy", "stray-copy"]
    X = np.stack(
        [unit(1, 0, 0), unit(0, 1, 0), unit(1, 0.01, 0), unit(1, 0.05, 0), unit(1, 0.02, 0)]
    )
    groups = ["a", "b", "a", "a", "b"]  # the stray copy sits in another topic
    pairs = duplicate_pairs(ids, X, threshold=0.95, groups=groups)
    assert [(p.idea_id, p.original_id) for p in pairs] == [
        ("copy", "first"),
        ("near-copy", "copy"),
    ]
    # One group for all: the same as the search over everything.
    assert duplicate_pairs(ids, X, threshold=0.95, groups=["x"] * 5) == duplicate_pairs(
        ids, X, threshold=0.95
    )
    checked = duplicate_pairs(ids, X, threshold=0.95, check=[3, 4], groups=groups)
    assert [(p.idea_id, p.original_id) for p in checked] == [("near-copy", "copy")]


def test_the_duplicate_search_bounds_its_memory_not_its_answer(monkeypatch):
    import ranking.similar as similar

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 8)).astype(np.float32)
    X[20:] = X[:20] + 0.01  # twenty near-copies of earlier ideas
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    ids = [f"i{n}" for n in range(40)]
    whole = duplicate_pairs(ids, X, threshold=0.99)
    monkeypatch.setattr(similar, "MAX_CELLS", 40 * 3)  # three rows of similarities at once
    bounded = duplicate_pairs(ids, X, threshold=0.99)
    assert [(p.idea_id, p.original_id) for p in bounded] == [
        (p.idea_id, p.original_id) for p in whole
    ]
    assert [p.similarity for p in bounded] == pytest.approx([p.similarity for p in whole], abs=1e-5)
    assert len(whole) == 20
