"""The ranking worker: live topic clusters, duplicate pairs and the ranked shortlist.

It feeds `ranking` from the read models and stores what comes back as read
models of its own (`projections.ranking_views`); it never records domain facts.
Each jam is refreshed at most every `refresh_s` seconds, and only when something it
ranks changed (the live feed says which jams changed; a decision or a flag is not
such a change): a quiet or closed jam is not ranked again while another is busy.
Between refreshes each new idea joins its nearest cluster at once.
Organizers' decisions about clusters come from the log (topic board events).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from eventsourcing.utils import get_topic

from domain import Idea
from domain.topics import TopicBoard
from projections import queries
from projections import ranking_views as rv
from projections.db import ViewDatabase
from projections.projector import FEED_RETENTION, Update
from projections.runner import LogReader
from ranking.engine import Refreshed, Vectorizer
from ranking.model import ClusterEdit, DuplicatePair, JamSnapshot, Topics
from ranking.similar import duplicate_pairs
from ranking.topics import OTHER, TopicModel

log = logging.getLogger(__name__)

EDIT_PAGE = 5000
# Idea-to-idea comparisons a duplicate search may make across all topics (a few
# seconds); past that, ideas are compared within their topic (see `_pairs`).
EXACT_PAIRS = 250_000_000
TOPICS = "topics"  # the kind of update announcing a jam's refreshed topics and ranking
_EDIT_TOPICS = {
    get_topic(TopicBoard.Renamed): "rename",
    get_topic(TopicBoard.Pinned): "pin",
    get_topic(TopicBoard.Unpinned): "unpin",
    get_topic(TopicBoard.Merged): "merge",
    get_topic(TopicBoard.Split): "split",
}
_DECIDED = get_topic(Idea.DecisionRecorded)


class Engine(Protocol):
    """What the worker asks of `ranking`, so tests and benchmarks can choose the parts."""

    def run(self, snapshot: JamSnapshot, previous: Topics | None) -> Refreshed: ...

    duplicate_threshold: float


@dataclass
class _Jam:
    """What the worker keeps between refreshes of one jam."""

    topics: Topics | None = None
    model: TopicModel | None = None
    vectorizer: Vectorizer | None = None  # fitted at the last refresh, for ideas since
    texts: dict[str, str] = field(default_factory=dict)  # idea -> its text at the last refresh
    pairs: dict[str, DuplicatePair] = field(default_factory=dict)
    refreshed_position: int = -1
    refreshed_at: float = float("-inf")
    last_idea_position: int = 0
    last_refresh_s: float = 0.0


class RankingWorker:
    def __init__(
        self,
        log_recorder: LogReader,
        views: ViewDatabase,
        decode: Callable[[bytes], dict[str, Any]],
        engine: Engine,
        *,
        refresh_s: float = 10.0,
        poll_s: float = 0.5,
        feed_retention: int = FEED_RETENTION,
        on_updates: Callable[[list[Update]], None] | None = None,
        on_refresh: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log_recorder
        self.views = views
        self._decode = decode
        self.engine = engine
        self.refresh_s = refresh_s
        self.poll_s = poll_s
        self._on_updates = on_updates
        self._on_refresh = on_refresh
        self._monotonic = monotonic
        self._jams: dict[str, _Jam] = {}
        self._wanted: dict[str, int] = {}  # jam -> position a reader is waiting for
        self.feed_retention = feed_retention
        self._changed: dict[str, int] = {}  # jam -> last log position of a ranked change
        self._feed_read = 0  # the live feed has been read for changes up to here
        self._edits_read = 0  # and the log for decisions up to here
        self._wake = threading.Event()
        self._refreshed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        with views.transaction() as cur:
            views.lock_projection(cur)
            rv.prepare(cur)

    def on_updates(self, callback: Callable[[list[Update]], None]) -> None:
        self._on_updates = callback

    def on_refreshed(self, callback: Callable[[float], None]) -> None:
        """Call `callback` with each refresh's duration in seconds (for metrics)."""
        self._on_refresh = callback

    # --- Organizers' decisions, from the log ------------------------------------

    def follow_edits(self, until: int) -> None:
        """Record decisions about clusters and ideas up to log position `until`."""
        with self.views.reading() as cur:
            start = rv.edits_position(cur) + 1
        while start <= until:
            rows = self._log.select_rows(start, EDIT_PAGE, stop=until)
            if not rows:
                break
            edits: list[tuple[int, str, ClusterEdit]] = []
            decisions = []
            for position, aggregate, topic, state in rows:
                if topic == _DECIDED:
                    e = self._decode(state)
                    decisions.append(
                        rv.DecisionRow(
                            position,
                            str(aggregate),
                            e["decision"],
                            e["note"],
                            str(e["decided_by"]),
                            e["timestamp"].isoformat(timespec="microseconds"),
                        )
                    )
                elif (kind := _EDIT_TOPICS.get(topic)) is not None:
                    e = self._decode(state)
                    edits.append((position, str(e["jam_id"]), _edit(kind, e)))
            last = rows[-1][0]
            with self.views.transaction() as cur:
                self.views.lock_projection(cur)
                rv.record_edits(cur, edits, decisions, last)
            for position, jam_id, _ in edits:  # a topic decision: the jam's topics change
                self._changed[jam_id] = max(self._changed.get(jam_id, 0), position)
            start = last + 1
        self._edits_read = max(self._edits_read, until)

    # --- One round --------------------------------------------------------------

    def step(self, *, force: bool = False) -> list[Update]:
        """Follow decisions, assign new ideas, refresh the jams that are due."""
        with self.views.reading() as cur:
            position = queries.position(cur)
            jams = rv.jams_with_ideas(cur)
            if self._feed_read < queries.feed_floor(cur, self.feed_retention):
                # The feed may have let go of changes since it was last read: any jam may
                # have changed.
                changed = {jam_id: position for jam_id, _ in jams}
            else:
                changed = rv.jams_changed(cur, self._feed_read, position)
        for jam_id, last in changed.items():
            self._changed[jam_id] = max(self._changed.get(jam_id, 0), last)
        self._feed_read = max(self._feed_read, position)
        self.follow_edits(position)
        updates: list[Update] = []
        now = self._monotonic()
        with self._refreshed:
            wanted = dict(self._wanted)
            self._refreshed.notify_all()  # a reader waiting on an unchanged jam is served
        for jam_id, newest in jams:
            state = self._jams.setdefault(jam_id, _Jam())
            due = now - state.refreshed_at >= max(self.refresh_s, state.last_refresh_s)
            asked = wanted.get(jam_id, -1) > state.refreshed_position
            moved = self._changed.get(jam_id, 0) > state.refreshed_position
            if (force or due or asked) and moved:
                updates.append(self.refresh(jam_id))
            elif newest > state.last_idea_position:
                update = self._assign_new(jam_id, state)
                if update:
                    updates.append(update)
        if updates and self._on_updates:
            try:
                self._on_updates(updates)
            except Exception:  # a failed publish must not stop the worker
                log.exception("publishing topic updates failed")
        return updates

    def refresh(self, jam_id: str) -> Update:
        started = self._monotonic()
        state = self._jams.setdefault(jam_id, _Jam())
        with self.views.reading() as cur:
            snapshot = rv.read_snapshot(cur, jam_id)
            newest = rv.newest_idea(cur, jam_id)
            if state.topics is None:
                # A worker (re)started: the ids it matches to are the ones stored, which
                # organizers' renames name; starting again at t1 gave their labels to others.
                state.topics = rv.stored_topics(cur, jam_id)
        visible = [i for i in snapshot.ideas if not i.hidden]
        changed = [i.id for i in visible if state.texts.get(i.id) != i.text]
        result = self.engine.run(snapshot, state.topics)
        state.texts = {i.id: i.text for i in visible}
        state.vectorizer = result.vectorizer or state.vectorizer
        posted = {i.id: i.posted_at for i in visible}
        pairs = self._pairs(state, result.vectors, changed, result.topics.assignment, posted)
        with self.views.transaction() as cur:
            rv.store_topics(cur, jam_id, result.topics)
            rv.store_ranking(cur, jam_id, result.ranking)
            rv.store_duplicate_pairs(cur, jam_id, pairs)
        state.topics, state.model = result.topics, result.model
        state.refreshed_position = snapshot.position
        state.last_idea_position = newest
        state.refreshed_at = self._monotonic()
        state.last_refresh_s = state.refreshed_at - started
        if self._on_refresh:
            self._on_refresh(state.last_refresh_s)
        with self._refreshed:
            self._refreshed.notify_all()
        return self._notice(snapshot.position, jam_id, "refreshed")

    def wait_for(self, jam_id: str, position: int, timeout: float) -> bool:
        """Refresh `jam_id` soon if it is behind `position`; wait until it is (or time out)."""
        deadline = self._monotonic() + timeout
        with self._refreshed:
            self._wanted[jam_id] = max(self._wanted.get(jam_id, 0), position)
            self._wake.set()

            def done() -> bool:
                state = self._jams.get(jam_id)
                if state is None:
                    return False
                if state.refreshed_position >= position:
                    return True
                # Read to `position`, and nothing ranked changed since the last refresh.
                return (
                    min(self._feed_read, self._edits_read) >= position
                    and self._changed.get(jam_id, 0) <= state.refreshed_position
                )

            while not done():
                left = deadline - self._monotonic()
                if left <= 0 or self._stopping.is_set():
                    return False
                self._refreshed.wait(min(left, self.poll_s))
            if self._wanted.get(jam_id, 0) <= position:
                self._wanted.pop(jam_id, None)
            return True

    def _assign_new(self, jam_id: str, state: _Jam) -> Update | None:
        """Ideas posted since the last refresh join their nearest cluster at once."""
        model, vectorizer = state.model, state.vectorizer
        if model is None or vectorizer is None:
            return None
        with self.views.reading() as cur:
            rows = cur.execute(
                "SELECT i.idea_id, i.title, i.body, i.position FROM rm_ideas i "
                "LEFT JOIN rk_idea_topics t ON t.idea_id = i.idea_id "
                "WHERE i.jam_id = ? AND i.position > ? AND i.hidden = 0 AND t.idea_id IS NULL",
                (jam_id, state.last_idea_position),
            ).fetchall()
            position = queries.position(cur)
        if not rows:
            return None
        matrix = vectorizer.transform([f"{r[1]}. {r[2]}" if r[2] else r[1] for r in rows])
        assigned = {r[0]: model.assign(v) for r, v in zip(rows, matrix, strict=True)}
        with self.views.transaction() as cur:
            rv.assign_provisionally(cur, jam_id, assigned)
        state.last_idea_position = max(int(r[3]) for r in rows)
        return self._notice(position, jam_id, "assigned")

    @staticmethod
    def _notice(position: int, jam_id: str, what: str) -> Update:
        return topics_notice(position, jam_id, what)

    def _pairs(
        self,
        state: _Jam,
        vectors: dict[str, np.ndarray],
        changed: list[str],
        topics: dict[str, str],
        posted: dict[str, datetime],
    ) -> list[DuplicatePair]:
        """Likely duplicates: each idea new or edited since the last refresh, against all.

        When that many comparisons would be too many (the first refresh of a large
        jam: every idea is new to this worker), each idea is compared with the
        earlier ideas of its own topic only; near-copies nearly always share one.
        """
        # In the order they were posted (by their time: an import or a seeded jam may log
        # ideas out of it), so the earlier idea of a pair, the likely original, comes first.
        ids = sorted(vectors, key=posted.__getitem__)  # stable: at one time, the log's order
        live = set(ids)
        state.pairs = {
            k: p
            for k, p in state.pairs.items()
            if p.idea_id in live and p.original_id in live and p.idea_id not in changed
        }
        if changed and len(ids) > 1:
            row = {idea_id: n for n, idea_id in enumerate(ids)}
            matrix = np.stack([vectors[i] for i in ids])
            check = [row[i] for i in changed]
            threshold = self.engine.duplicate_threshold
            groups = None
            if len(check) * len(ids) > EXACT_PAIRS:
                groups = [topics.get(i, OTHER) for i in ids]
            found = duplicate_pairs(ids, matrix, threshold=threshold, check=check, groups=groups)
            for pair in found:
                state.pairs[pair.idea_id] = pair
        return sorted(state.pairs.values(), key=lambda p: (-p.similarity, p.idea_id))

    # --- Running ----------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ranking", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def run(self, stop: threading.Event) -> None:
        """Run in this thread until `stop` is set."""
        failing = ""
        while not stop.is_set():
            try:
                self.step()
                failing = ""
            except Exception as exc:
                # Logged once per kind of failure, not per round.
                if repr(exc) != failing:
                    if _not_built(exc):  # started beside the projection worker: expected
                        log.warning("waiting for the read models to be created (by projection)")
                    else:
                        log.exception("a ranking round failed; trying again")
                failing = repr(exc)
            self._wake.wait(self.poll_s)  # a reader waiting for a position wakes it early
            self._wake.clear()

    def _run(self) -> None:
        try:
            self.run(self._stopping)
        except BaseException as exc:  # pragma: no cover - kept for the status endpoint
            self.error = exc
            raise


def topics_notice(position: int, jam_id: str, what: str = "refreshed") -> Update:
    """The live update announcing the jam's topics (and ranking) refreshed, or new ideas
    assigned to them, at `position`.

    Streams send an update once per (position, kind, id). A refresh may follow an
    assignment at the same log position, so each names what it announces; and two web
    workers' rankers (or a stream starting) announcing the same thing make one.
    """
    return Update(position, jam_id, TOPICS, f"{jam_id}:{what}")


def _not_built(exc: Exception) -> bool:
    """Whether a round failed because the read models' tables do not exist yet."""
    text = str(exc)
    return ("no such table: rm_" in text) or ('relation "rm_' in text and "does not exist" in text)


def _edit(kind: str, e: dict[str, Any]) -> ClusterEdit:
    at: datetime = e["timestamp"]
    return ClusterEdit(
        kind=kind,
        cluster_id=e["cluster_id"],
        at=at,
        label=e.get("label", ""),
        target_id=e.get("into", ""),
        ideas=tuple(str(i) for i in e.get("ideas", ())),
    )
