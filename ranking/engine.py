"""The ranking's parts put together: vectors, topic refreshes, scores and the shortlist.

The ranking worker asks one object for everything, so a test or a benchmark can
swap a part (a fixed-k clusterer, a smaller vectorizer) without touching the
worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
import numpy as np

from ranking.clustering import TopicClusterer
from ranking.config import RankingConfig
from ranking.describe import key_terms, map_positions
from ranking.model import JamSnapshot, Ranking, Topics
from ranking.shortlist import rank
from ranking.similar import SimilarityVectorizer
from ranking.topics import ClusterEstimator, Describe, MapPositions, TopicConfig, TopicModel
from ranking.topics import refresh_topics as _refresh
from ranking.vectors import TextVectorizer, embeddings_available

DUPLICATE_THRESHOLD = 0.92  # cosine similarity above which two ideas are likely the same


class Vectorizer(Protocol):
    """Texts in, L2-normalised rows out; fitted on a jam's ideas at each refresh."""

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray: ...

    def transform(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Refreshed:
    """One refresh of a jam: its vectors, topics and ranking."""

    vectorizer: Vectorizer | None  # fitted on the visible ideas; None when there are none
    vectors: dict[str, np.ndarray]  # visible idea id -> vector
    topics: Topics
    model: TopicModel
    ranking: Ranking


@dataclass
class RankingEngine:
    make_vectorizer: Callable[[], Vectorizer]
    make_clusterer: Callable[[], ClusterEstimator]
    describe: Describe
    map_positions: MapPositions
    config: RankingConfig = field(default_factory=RankingConfig)
    topic_config: TopicConfig = field(default_factory=TopicConfig)
    duplicate_threshold: float = DUPLICATE_THRESHOLD
    method: str = ""
    # Which vectors fed the topics ("embeddings" or "tfidf"): part of the version a
    # ranking records, since the same log and weights rank differently with each.
    vectors: str = ""

    @property
    def version(self) -> str:
        return f"{self.config.version}+{self.vectors}" if self.vectors else self.config.version

    def fit_vectors(self, texts: Sequence[str]) -> tuple[Vectorizer, np.ndarray]:
        vectorizer = self.make_vectorizer()
        return vectorizer, np.asarray(vectorizer.fit_transform(list(texts)), dtype=np.float32)

    def refresh(
        self, snapshot: JamSnapshot, vectors: dict[str, np.ndarray], previous: Topics | None
    ) -> tuple[Topics, TopicModel]:
        return _refresh(
            snapshot,
            vectors,
            clusterer=self.make_clusterer(),
            describe=self.describe,
            map_positions=self.map_positions,
            previous=previous,
            config=self.topic_config,
            method=self.method,
        )

    def rank(
        self, snapshot: JamSnapshot, topics: Topics, vectors: dict[str, np.ndarray]
    ) -> Ranking:
        ranking = rank(snapshot, topics, vectors, self.config)
        return msgspec.structs.replace(ranking, config_version=self.version)

    def run(self, snapshot: JamSnapshot, previous: Topics | None) -> Refreshed:
        """Vectors of the visible ideas, their topics (ids matched to `previous`), the ranking."""
        visible = [i for i in snapshot.ideas if not i.hidden]
        vectorizer: Vectorizer | None = None
        vectors: dict[str, np.ndarray] = {}
        if visible:
            vectorizer, matrix = self.fit_vectors([i.text for i in visible])
            vectors = {i.id: row for i, row in zip(visible, matrix, strict=True)}
        topics, model = self.refresh(snapshot, vectors, previous)
        return Refreshed(vectorizer, vectors, topics, model, self.rank(snapshot, topics, vectors))


def default_engine(config: RankingConfig | None = None) -> RankingEngine:
    """The parts OpenJam runs with: see ranking.vectors and ranking.clustering for each."""
    topic_config = TopicConfig()
    embeddings = embeddings_available()
    vectors = "word embeddings + TF-IDF + the jam's own co-occurrence" if embeddings else "TF-IDF"
    return RankingEngine(
        make_vectorizer=lambda: TextVectorizer(random_state=topic_config.random_state),
        make_clusterer=lambda: TopicClusterer(random_state=topic_config.random_state),
        describe=key_terms,
        map_positions=map_positions,
        config=config or RankingConfig(),
        topic_config=topic_config,
        method=f"{vectors} vectors; spherical k-means, k chosen by silhouette",
        vectors="embeddings" if embeddings else "tfidf",
    )


def similarity_vectorizer() -> Vectorizer:
    """Vectors for "similar ideas while typing": the same for every text, fitted on nothing."""
    return SimilarityVectorizer()
