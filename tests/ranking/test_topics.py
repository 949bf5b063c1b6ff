"""Keeping topic clusters: stable ids, organizers' decisions respected, growth and assignment."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import numpy as np

from ranking.model import ClusterEdit
from ranking.topics import OTHER, refresh_topics
from tests.ranking.topic_scenes import (
    START,
    FixedK,
    ideas_about,
    on_a_line,
    snapshot,
    topic_vector,
    vectors_for,
    words_of,
)


def refresh(ideas, edits=(), previous=None, k=3, hours=3):
    return refresh_topics(
        snapshot(ideas, edits, hours=hours),
        vectors_for(ideas),
        clusterer=FixedK(k),
        describe=words_of,
        map_positions=on_a_line,
        previous=previous,
    )


def cluster_of(topics, idea_id):
    return topics.assignment[idea_id]


def test_three_obvious_topics_become_three_clusters_described_by_their_words():
    topics, _ = refresh(ideas_about(10))
    assert sorted(c.id for c in topics.clusters) == ["t1", "t2", "t3"]
    for c in topics.clusters:
        members = {i for i, cid in topics.assignment.items() if cid == c.id}
        assert len({m.split("-")[0] for m in members}) == 1  # one topic per cluster
        assert c.size == 10
        assert c.label == c.terms[0]
        assert set(c.representatives) <= members
        assert len(c.representatives) == 3
        assert c.segments == {"client": 5, "employee": 5}


def test_ids_survive_a_refresh_with_new_ideas():
    first, _ = refresh(ideas_about(10))
    second, _ = refresh(ideas_about(12), previous=first)
    for idea_id, cid in first.assignment.items():
        assert second.assignment[idea_id] == cid
    assert second.next_id == first.next_id == 4


def test_a_cluster_that_is_new_gets_a_new_id_never_a_reused_one():
    first, _ = refresh(ideas_about(10), k=2)  # two topics forced together
    second, _ = refresh(ideas_about(10), previous=first, k=3)
    new_ids = {c.id for c in second.clusters} - {c.id for c in first.clusters}
    assert new_ids == {"t3"}


def test_a_rename_labels_the_cluster_from_then_on():
    first, _ = refresh(ideas_about(10))
    target = first.clusters[0].id
    edit = ClusterEdit("rename", target, START, label="Working from anywhere")
    second, _ = refresh(ideas_about(10), [edit], previous=first)
    renamed = next(c for c in second.clusters if c.id == target)
    assert (renamed.label, renamed.renamed) == ("Working from anywhere", True)


def test_a_merge_keeps_the_recorded_ideas_in_the_target_cluster():
    first, _ = refresh(ideas_about(10))
    a, b = (c.id for c in first.clusters[:2])
    a_ideas = tuple(i for i, cid in first.assignment.items() if cid == a)
    merge = ClusterEdit("merge", a, START, target_id=b, ideas=a_ideas)
    second, _ = refresh(ideas_about(10), [merge], previous=first)
    assert all(second.assignment[i] == b for i in a_ideas)
    assert a not in {c.id for c in second.clusters}


def test_a_pin_keeps_its_ideas_together_even_when_the_clusterer_would_not():
    first, _ = refresh(ideas_about(10))
    mixed = ("remote-000", "health-000", "energy-000")
    pin = ClusterEdit("pin", "t9", START, ideas=mixed)
    second, _ = refresh(ideas_about(10), [pin], previous=first)
    assert {second.assignment[i] for i in mixed} == {"t9"}
    assert next(c for c in second.clusters if c.id == "t9").pinned
    # Unpinning lets the clusterer decide again.
    third, _ = refresh(ideas_about(10), [pin, ClusterEdit("unpin", "t9", START)], previous=second)
    assert len({third.assignment[i] for i in mixed}) == 3


def test_a_split_divides_the_recorded_ideas_in_two_and_retires_the_id():
    first, _ = refresh(ideas_about(10), k=2)
    merged = max(first.clusters, key=lambda c: c.size)  # holds two topics
    ideas = tuple(i for i, cid in first.assignment.items() if cid == merged.id)
    split = ClusterEdit("split", merged.id, START, ideas=ideas)
    second, _ = refresh(ideas_about(10), [split], previous=first, k=2)
    halves = {second.assignment[i] for i in ideas}
    assert halves == {f"{merged.id}.1", f"{merged.id}.2"}
    for half in halves:
        topics_in = {i.split("-")[0] for i in ideas if second.assignment[i] == half}
        assert len(topics_in) == 1  # the split follows the ideas' meaning
    assert merged.id not in {c.id for c in second.clusters}


def test_the_parts_of_a_split_can_be_merged_and_pinned_later():
    # The split was replayed after every other decision, so a later merge of its parts
    # answered "merged" and changed nothing, and the parts could no longer be touched.
    first, _ = refresh(ideas_about(10), k=2)
    merged = max(first.clusters, key=lambda c: c.size)
    ideas = tuple(i for i, cid in first.assignment.items() if cid == merged.id)
    split = ClusterEdit("split", merged.id, START, ideas=ideas)
    second, _ = refresh(ideas_about(10), [split], previous=first, k=2)
    one, two = f"{merged.id}.1", f"{merged.id}.2"
    part = tuple(i for i in ideas if second.assignment[i] == one)
    again = ClusterEdit("merge", one, START, ideas=part, target_id=two)
    third, _ = refresh(ideas_about(10), [split, again], previous=second, k=2)
    assert {third.assignment[i] for i in ideas} == {two}
    assert one not in {c.id for c in third.clusters}
    pinned = ClusterEdit("pin", two, START, ideas=ideas)
    fourth, _ = refresh(ideas_about(10), [split, again, pinned], previous=third, k=2)
    assert next(c for c in fourth.clusters if c.id == two).pinned


def test_a_split_right_after_a_merge_into_it_divides_the_merged_ideas_too():
    # Both decided before the next refresh: the split's recorded ideas were its members as
    # last refreshed, so the merged ideas stayed under the retired id, which every later
    # decision refused.
    first, _ = refresh(ideas_about(10), k=3)
    a, b = sorted(first.clusters, key=lambda c: c.id)[:2]
    of_a = tuple(i for i, cid in first.assignment.items() if cid == a.id)
    of_b = tuple(i for i, cid in first.assignment.items() if cid == b.id)
    merge = ClusterEdit("merge", a.id, START, ideas=of_a, target_id=b.id)
    split = ClusterEdit("split", b.id, START, ideas=of_b)
    second, _ = refresh(ideas_about(10), [merge, split], previous=first, k=3)
    ids = {c.id for c in second.clusters}
    assert a.id not in ids
    assert b.id not in ids
    assert {second.assignment[i] for i in of_a + of_b} <= {f"{b.id}.1", f"{b.id}.2"}


class UpperBound(FixedK):
    """Chooses k as the silhouette does on real ideas: nearly always its upper bound."""

    def __init__(self) -> None:
        self.n_clusters, self.k_max = None, 30

    def fit(self, X: np.ndarray) -> UpperBound:
        self.k = min(self.k_max, len(X))
        return super().fit(X)  # type: ignore[return-value]


def test_free_ideas_make_topics_no_finer_than_the_decided_ones():
    # Pinning one topic left the two others to a clusterer choosing k on their ideas
    # alone: 30 fragments where there had been two topics.
    ideas = ideas_about(20)
    first, _ = refresh(ideas)
    remote = tuple(i.id for i in ideas if i.id.startswith("remote"))
    pin = ClusterEdit("pin", first.assignment[remote[0]], START, ideas=remote)
    second, _ = refresh_topics(
        snapshot(ideas, [pin]),
        vectors_for(ideas),
        clusterer=UpperBound(),
        describe=words_of,
        map_positions=on_a_line,
        previous=first,
    )
    free = [i.id for i in ideas if i.id not in remote]
    assert len({second.assignment[i] for i in free}) == 2  # 40 ideas at the pinned 20 each
    for topic in ("health", "energy"):
        assert len({second.assignment[i] for i in free if i.startswith(topic)}) == 1


def test_new_ideas_join_the_decided_topic_they_are_like_when_every_topic_is_decided():
    # With all ideas pinned, the few new ones are too few for topics of their own; they
    # went to "other" although each is plainly about one of the pinned topics.
    first, _ = refresh(ideas_about(10))
    pins = [
        ClusterEdit(
            "pin", c.id, START, ideas=tuple(i for i, cid in first.assignment.items() if cid == c.id)
        )
        for c in first.clusters
    ]
    grown = ideas_about(10) + ideas_about(2, start=10)  # two new ideas per topic
    second, _ = refresh(grown, pins, previous=first)
    for new in (i for i in grown if int(i.id.split("-")[1]) >= 10):
        kin = new.id.split("-")[0] + "-000"
        assert second.assignment[new.id] == first.assignment[kin] != OTHER


def test_growth_in_the_last_hour_flags_an_emerging_topic():
    old = ideas_about(10)
    burst = [
        i
        for i in ideas_about(6, start=10, at=START + timedelta(hours=9, minutes=20))
        if i.id.startswith("energy")
    ]
    topics, _ = refresh(old + burst, hours=10)
    energy = next(c for c in topics.clusters if topics.assignment["energy-000"] == c.id)
    others = [c for c in topics.clusters if c.id != energy.id]
    assert (energy.growth_last_hour, energy.emerging) == (6, True)
    assert all(not c.emerging and c.growth_last_hour == 0 for c in others)


def test_a_new_idea_is_assigned_to_the_nearest_cluster_at_once_or_to_other():
    topics, model = refresh(ideas_about(10))
    near_health = topic_vector(1, 99)
    assert model.assign(near_health) == topics.assignment["health-000"]
    nowhere = np.zeros(8)
    nowhere[7] = 1.0
    assert model.assign(nowhere) == OTHER


def test_too_few_ideas_make_no_clusters_and_hidden_ideas_are_left_out():
    topics, model = refresh(ideas_about(2))
    assert topics.clusters == ()
    assert set(topics.assignment.values()) == {OTHER}
    assert model.assign(topic_vector(0, 1)) == OTHER
    ideas = ideas_about(10)
    hidden = [msgspec.structs.replace(i, hidden=i.id == "remote-000") for i in ideas]
    assert "remote-000" not in refresh(hidden)[0].assignment


def test_the_same_snapshot_gives_the_same_topics():
    assert refresh(ideas_about(10))[0] == refresh(ideas_about(10))[0]


def test_ideas_whose_text_has_no_words_make_no_clusters():
    ideas = ideas_about(4)
    blank = dict.fromkeys((i.id for i in ideas), np.zeros(8))
    topics, _ = refresh_topics(
        snapshot(ideas),
        blank,
        clusterer=FixedK(3),
        describe=words_of,
        map_positions=on_a_line,
    )
    assert topics.clusters == ()
    assert set(topics.assignment.values()) == {OTHER}


def test_a_topic_shows_representative_ideas_with_different_titles():
    ideas = ideas_about(10)
    # Every remote idea is one posted again and again under one title, but the one
    # farthest from the topic's centre.
    vectors = vectors_for(ideas)
    remote_ids = [i.id for i in ideas if i.id.startswith("remote")]
    centre = np.mean([vectors[i] for i in remote_ids], axis=0)
    farthest = min(remote_ids, key=lambda i: float(vectors[i] @ centre))
    ideas = [
        msgspec.structs.replace(
            i, title="Home office allowance" if i.id == farthest else "Remote  Fridays"
        )
        if i.id in remote_ids
        else i
        for i in ideas
    ]
    topics, _ = refresh(ideas)
    remote = next(c for c in topics.clusters if c.id == cluster_of(topics, farthest))
    titles = {i.id: i.title.lower().replace("  ", " ") for i in ideas}
    shown = [titles[i] for i in remote.representatives]
    assert sorted(set(shown)) == ["home office allowance", "remote fridays"]
    assert len(remote.representatives) == 3  # a copy fills the last place: nothing else
