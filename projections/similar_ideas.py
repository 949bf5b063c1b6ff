"""Similar ideas already posted: an in-memory index per jam, kept in step with the read models.

Each web worker holds its own index (vectors are cheap to make and nothing here is
a fact): it is built from `rm_ideas` on the first search of a jam and brought up to
date on every later one, with the ideas posted since (by `position`) and those
edited, hidden, restored or (un)linked as duplicates since (by `changed_position`;
an edit does not move `position`). Hidden ideas and ideas linked as duplicates
leave the index, and are also filtered at search time from the read model, so
they drop out at once even if they changed after the index was brought up to date.
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
# New ideas by where they were posted, then changes to ideas by where they were made.
_FOLLOWED = ("position", "changed_position")


class SimilarIdea(msgspec.Struct, frozen=True):
    id: str
    title: str
    forum: str
    similarity: float


class _JamIndex:
    def __init__(self) -> None:
        self.index: SimilarIndex | None = None
        # Per rm_ideas column (`position`, `changed_position`): how far it was followed.
        self.synced = dict.fromkeys(_FOLLOWED, 0)
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
            for column in _FOLLOWED:
                self._follow(jam_id, state, column)
        return state

    def _follow(self, jam_id: str, state: _JamIndex, column: str) -> None:
        """Index each idea whose `column` moved past what was read of it, as it reads now.

        An idea read by both columns (posted, then changed, before the first search) is
        embedded twice, both times with its current text: harmless.
        """
        while True:
            with self._views.reading() as cur:
                rows = cur.execute(
                    f"SELECT idea_id, title, body, hidden, duplicate_of, {column} FROM rm_ideas "
                    f"WHERE jam_id = ? AND {column} > ? ORDER BY {column} LIMIT ?",
                    (jam_id, state.synced[column], SYNC_PAGE),
                ).fetchall()
            if not rows:
                return
            shown = [r for r in rows if not r[3] and r[4] is None]
            if state.index is not None:
                for r in rows:
                    if r[3] or r[4] is not None:
                        state.index.remove(r[0])  # so it takes no place among the nearest
            if shown:
                vectors = self._embed([f"{r[1]}. {r[2]}" for r in shown])
                if state.index is None:
                    state.index = SimilarIndex(vectors.shape[1], capacity=max(1024, len(shown)))
                state.index.add([r[0] for r in shown], vectors)  # an edited idea's row is replaced
            state.synced[column] = int(rows[-1][5])

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
