"""Small jams with obvious topics, for the ranking tests: vectors are built, not learned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from sklearn.cluster import KMeans

from ranking.model import ClusterEdit, IdeaRow, JamSnapshot

START = datetime(2030, 5, 1, 9, tzinfo=UTC)
TOPICS = ("remote", "health", "energy")


def topic_vector(topic: int, n: int, dim: int = 8, spread: float = 0.08) -> np.ndarray:
    """A unit vector near axis `topic`, varied deterministically by `n`."""
    rng = np.random.default_rng(1000 * topic + n)
    v = np.zeros(dim)
    v[topic] = 1.0
    v += rng.normal(0, spread, dim)
    return v / np.linalg.norm(v)


def ideas_about(per_topic: int, *, start: int = 0, at: datetime = START) -> list[IdeaRow]:
    return [
        IdeaRow(
            id=f"{TOPICS[t]}-{n:03d}",
            forum="future",
            author_id=f"p{n}",
            author_segment=("employee", "client")[n % 2],
            title=f"{TOPICS[t]} idea {n}",
            body="",
            posted_at=at + timedelta(minutes=n),
        )
        for t in range(len(TOPICS))
        for n in range(start, start + per_topic)
    ]


def vectors_for(ideas: Sequence[IdeaRow]) -> dict[str, np.ndarray]:
    out = {}
    for idea in ideas:
        topic, n = idea.id.split("-")
        out[idea.id] = topic_vector(TOPICS.index(topic), int(n))
    return out


def snapshot(
    ideas: Sequence[IdeaRow], edits: Sequence[ClusterEdit] = (), *, hours: float = 3
) -> JamSnapshot:
    return JamSnapshot(
        jam_id="jam",
        position=len(ideas) + len(edits),
        as_of=START + timedelta(hours=hours),
        ideas=tuple(ideas),
        votes=(),
        participants=(),
        edits=tuple(edits),
    )


class FixedK:
    """A stand-in clusterer: k-means with a given k, no outliers."""

    def __init__(self, k: int = 3) -> None:
        self.k = k

    def fit(self, X: np.ndarray) -> FixedK:
        km = KMeans(self.k, n_init=4, random_state=0).fit(X)
        self.labels_ = km.labels_
        self.cluster_centers_ = km.cluster_centers_
        return self


def words_of(texts: Sequence[str], labels: np.ndarray, n: int) -> dict[int, list[str]]:
    """A stand-in describer: each cluster's most common first word."""
    out: dict[int, list[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        if label >= 0:
            out.setdefault(int(label), []).append(text.split()[0])
    return {k: sorted(set(v), key=v.count, reverse=True)[:n] for k, v in out.items()}


def on_a_line(centers: np.ndarray, random_state: int) -> np.ndarray:
    return np.column_stack([np.arange(len(centers)), np.zeros(len(centers))])
