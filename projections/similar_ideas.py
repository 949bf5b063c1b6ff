"""Similar ideas already posted: an in-memory index per jam, kept in step with the read models.

Each web worker holds its own index (vectors are cheap to make and nothing here is
a fact): it is built from `rm_ideas` on the first search of a jam and extended
with the ideas posted since on every later one. Hidden ideas and ideas linked as
duplicates are filtered at search time from the read model, so they drop out at
once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import msgspec
import numpy as np

from projections.db import ViewDatabase
from ranking.similar import SimilarIndex

Embed = Callable[[Sequence[str]], np.ndarray]
SYNC_PAGE = 20_000


class SimilarIdea(msgspec.Struct, frozen=True):
    id: str
    title: str
    forum: str
    similarity: float


class _JamIndex:
    def __init__(self) -> None:
        self.index: SimilarIndex | None = None
        self.synced = 0  # rm_ideas position up to which ideas are in the index
        self.lock = threading.Lock()


class SimilarIdeas:
    def __init__(self, views: ViewDatabase, embed: Embed, *, min_similarity: float = 0.3) -> None:
        self._views = views
        self._embed = embed
        self.min_similarity = min_similarity
        self._jams: dict[str, _JamIndex] = {}
        self._lock = threading.Lock()

    def _sync(self, jam_id: str) -> _JamIndex:
        with self._lock:
            state = self._jams.setdefault(jam_id, _JamIndex())
        with state.lock:
            while True:
                with self._views.reading() as cur:
                    rows = cur.execute(
                        "SELECT idea_id, title, body, position FROM rm_ideas "
                        "WHERE jam_id = ? AND position > ? ORDER BY position LIMIT ?",
                        (jam_id, state.synced, SYNC_PAGE),
                    ).fetchall()
                if not rows:
                    return state
                vectors = self._embed([f"{r[1]}. {r[2]}" for r in rows])
                if state.index is None:
                    state.index = SimilarIndex(vectors.shape[1], capacity=max(1024, len(rows)))
                state.index.add([r[0] for r in rows], vectors)
                state.synced = int(rows[-1][3])

    def search(self, jam_id: str, text: str, limit: int = 5) -> list[SimilarIdea]:
        state = self._sync(jam_id)
        if state.index is None or not text.strip():
            return []
        query = self._embed([text])[0]
        found = state.index.search(query, k=limit * 3, min_similarity=self.min_similarity)
        if not found:
            return []
        ids = [i for i, _ in found]
        marks = ", ".join("?" * len(ids))
        with self._views.reading() as cur:
            rows = cur.execute(
                f"SELECT idea_id, title, forum FROM rm_ideas WHERE idea_id IN ({marks}) "
                "AND hidden = 0 AND duplicate_of IS NULL",
                ids,
            ).fetchall()
        shown = {r[0]: r for r in rows}
        return [
            SimilarIdea(i, shown[i][1], shown[i][2], round(s, 4)) for i, s in found if i in shown
        ][:limit]
