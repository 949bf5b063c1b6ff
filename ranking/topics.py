"""Keeping a jam's topic clusters: organizers' decisions respected, ids stable across refreshes.

A refresh is computed from the snapshot alone, so the same log gives the same
partition:
1. Organizers' decisions fix some ideas' clusters, applied in log order: a pin
   keeps the cluster's recorded ideas together under its id, a merge moves the
   recorded ideas into the target cluster, a split divides the recorded ideas in
   two ("t7" -> "t7.1", "t7.2"). Unpin lifts a pin.
2. The other ideas are clustered by the clusterer (k chosen from the data, outliers
   in "other"). Once organizers have decided some clusters, the free ideas make at most
   as many topics as they would fill at the decided clusters' average size: on a few
   free ideas the silhouette's choice runs to its upper bound, and shaping some topics
   would break the untouched ones into fragments. A free idea closer to a decided
   cluster's centre than to its own joins the decided cluster, so pinned topics grow;
   when too few ideas are free to form topics of their own, each joins the decided
   cluster it is most like (if it shares anything with one) rather than "other".
3. Ids: the new clusters are matched to the previous refresh's clusters by the
   overlap of their ideas (Jaccard, one-to-one by the Hungarian method), so an
   organizer's view keeps its ids and labels; unmatched clusters get new ids.
   Ids are only names: the partition and the ranking never depend on them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import msgspec
import numpy as np
from sklearn.cluster import KMeans

from ranking.describe import pair_up
from ranking.model import Cluster, ClusterEdit, IdeaRow, JamSnapshot, Topics

OTHER = "other"
ASSIGN_SLACK = 0.05


class TopicConfig(msgspec.Struct, frozen=True):
    min_ideas: int = 8  # below this everything is "other": too few ideas to speak of topics
    match_min_jaccard: float = 0.2  # below this a new cluster is a new topic, not an old one
    n_terms: int = 8
    n_representatives: int = 3
    emerging_min_ideas: int = 3  # at least this many ideas in the last hour ...
    emerging_ratio: float = 2.0  # ... and this many times the cluster's average hourly share
    random_state: int = 0


class ClusterEstimator(Protocol):
    labels_: np.ndarray
    cluster_centers_: np.ndarray

    def fit(self, X: np.ndarray) -> Any: ...


Describe = Callable[[Sequence[str], np.ndarray, int], dict[int, list[str]]]
MapPositions = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class TopicModel:
    """What assigning a new idea needs between refreshes: the centres and their ids."""

    ids: tuple[str, ...]
    centers: np.ndarray  # one L2-normalised row per id
    min_similarity: float  # below this, an idea is an outlier ("other")

    def assign(self, vector: np.ndarray) -> str:
        if not self.ids:
            return OTHER
        sims = self.centers @ vector
        best = int(np.argmax(sims))
        return self.ids[best] if sims[best] >= self.min_similarity else OTHER


def _normalised(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


def decided_clusters(
    edits: Sequence[ClusterEdit],
    split: Callable[[str, tuple[str, ...]], dict[str, str]],
) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Replay organizers' decisions in their order: fixed idea -> cluster, labels, pinned
    ids. `split` parts a cluster's ideas in two, at its place in the order, so a later
    decision about a part (a merge, a pin) holds."""
    fixed: dict[str, str] = {}
    labels: dict[str, str] = {}
    pinned: set[str] = set()
    merged_into: dict[str, str] = {}

    def final(cid: str) -> str:
        seen = set()
        while cid in merged_into and cid not in seen:
            seen.add(cid)
            cid = merged_into[cid]
        return cid

    for edit in edits:
        ideas = edit.ideas
        if edit.kind == "rename":
            labels[edit.cluster_id] = edit.label
        elif edit.kind == "pin":
            pinned.add(edit.cluster_id)
            for idea in ideas:
                fixed[idea] = edit.cluster_id
        elif edit.kind == "unpin":
            pinned.discard(edit.cluster_id)
            fixed = {i: c for i, c in fixed.items() if c != edit.cluster_id}
        elif edit.kind == "merge":
            merged_into[edit.cluster_id] = edit.target_id
            pinned.discard(edit.cluster_id)
            for idea in ideas:
                fixed[idea] = edit.target_id
        elif edit.kind == "split":
            pinned.discard(edit.cluster_id)
            # Its members as last refreshed, and the ideas decisions since have put in it
            # (a merge into it before the next refresh): none may stay under a retired id.
            members = set(ideas) | {i for i, c in fixed.items() if final(c) == edit.cluster_id}
            for idea in members:
                fixed.pop(idea, None)
            fixed.update(split(edit.cluster_id, tuple(sorted(members))))
    # Ideas fixed into a cluster that was merged later follow it to where it went.
    return {i: final(c) for i, c in fixed.items()}, labels, pinned


def _split_in_two(
    cluster_id: str, ideas: Sequence[str], vectors: dict[str, np.ndarray], random_state: int
) -> dict[str, str]:
    present = sorted(i for i in ideas if i in vectors)
    if len(present) < 2:
        return dict.fromkeys(present, f"{cluster_id}.1")
    X = np.stack([vectors[i] for i in present])
    halves = KMeans(2, n_init=4, random_state=random_state).fit_predict(X)
    return {i: f"{cluster_id}.{h + 1}" for i, h in zip(present, halves, strict=True)}


def _match(
    new: dict[int, set[str]], old: dict[str, set[str]], min_jaccard: float
) -> dict[int, str]:
    """New cluster index -> old id, one-to-one, maximising the ideas' overlap."""
    if not new or not old:
        return {}
    new_keys, old_keys = sorted(new), sorted(old)
    jaccard = np.zeros((len(new_keys), len(old_keys)))
    for a, nk in enumerate(new_keys):
        for b, ok in enumerate(old_keys):
            inter = len(new[nk] & old[ok])
            if inter:
                jaccard[a, b] = inter / len(new[nk] | old[ok])
    return {new_keys[r]: old_keys[c] for r, c in pair_up(jaccard, min_jaccard).items()}


def _distinct(
    ranked: Sequence[tuple[float, str]], members: Sequence[IdeaRow], n: int
) -> tuple[str, ...]:
    """The `n` most central ideas with different titles: copies of one idea (a jam has
    many) would say the same thing several times; copies fill in only if there is no other."""
    title = {i.id: " ".join(i.title.lower().split()) for i in members}
    picked: list[str] = []
    seen: set[str] = set()
    for _, idea_id in ranked:
        if title[idea_id] not in seen:
            seen.add(title[idea_id])
            picked.append(idea_id)
            if len(picked) == n:
                return tuple(picked)
    rest = [i for _, i in ranked if i not in picked]
    return tuple(picked + rest[: n - len(picked)])


def _next_number(previous: Topics | None, edits: Sequence[ClusterEdit]) -> int:
    """Numbers of ids ever used (by a refresh or named in a decision) are never reused."""
    used = [0]
    if previous is not None:
        used.append(previous.next_id - 1)
        used.extend(_number(c.id) for c in previous.clusters)
    used.extend(_number(e.cluster_id) for e in edits)
    used.extend(_number(e.target_id) for e in edits if e.target_id)
    return max(used) + 1


def _number(cluster_id: str) -> int:
    head = cluster_id.split(".", 1)[0]
    return int(head[1:]) if head.startswith("t") and head[1:].isdigit() else 0


def refresh_topics(
    snapshot: JamSnapshot,
    vectors: dict[str, np.ndarray],
    *,
    clusterer: ClusterEstimator,
    describe: Describe,
    map_positions: MapPositions,
    previous: Topics | None = None,
    config: TopicConfig | None = None,
    method: str = "",
) -> tuple[Topics, TopicModel]:
    """One refresh of the jam's clusters; see the module's docstring for the steps."""
    config = config or TopicConfig()
    ideas = [i for i in snapshot.ideas if not i.hidden and i.id in vectors]
    if len(ideas) < config.min_ideas:
        empty = Topics(
            position=snapshot.position,
            as_of=snapshot.as_of,
            clusters=(),
            assignment={i.id: OTHER for i in ideas},
            method=f"fewer than {config.min_ideas} ideas: no clusters yet",
            next_id=previous.next_id if previous else 1,
        )
        return empty, TopicModel((), np.zeros((0, 1), dtype=np.float32), 1.0)

    fixed, labels, pinned = decided_clusters(
        snapshot.edits,
        lambda cluster_id, ids: _split_in_two(cluster_id, ids, vectors, config.random_state),
    )
    present = {i.id for i in ideas}
    fixed = {i: c for i, c in fixed.items() if i in present}

    free = [i for i in ideas if i.id not in fixed]
    assignment: dict[str, str] = dict(fixed)
    new_members: dict[int, set[str]] = {}
    free_labels = np.zeros(0, dtype=int)
    X = np.stack([vectors[i.id] for i in free]) if free else np.zeros((0, 1))
    decided_ids = sorted(set(fixed.values()))
    decided_centers = _centres(decided_ids, fixed, vectors)
    if len(free) >= config.min_ideas and np.any(X):  # texts with no words at all: no topics
        if decided_ids and getattr(clusterer, "n_clusters", 0) is None:
            cap = max(2, math.ceil(len(free) * len(decided_ids) / len(fixed)))
            clusterer.k_max = min(clusterer.k_max, cap)  # type: ignore[attr-defined]
        clusterer.fit(X)
        free_labels = np.asarray(clusterer.labels_)
        centers = _normalised(np.asarray(clusterer.cluster_centers_, dtype=np.float64))
        for row, (idea, label) in enumerate(zip(free, free_labels, strict=True)):
            # A free idea that sits closer to a decided cluster joins it.
            if decided_ids:
                sims = decided_centers @ X[row]
                best = int(np.argmax(sims))
                own = float(centers[label] @ X[row]) if label >= 0 else -1.0
                if sims[best] > own:
                    assignment[idea.id] = decided_ids[best]
                    continue
            if label < 0:
                assignment[idea.id] = OTHER
            else:
                new_members.setdefault(int(label), set()).add(idea.id)
    else:
        # Too few free ideas for topics of their own (say every topic was pinned, merged or
        # split): each joins the decided cluster it is most like, if like any at all.
        for row, idea in enumerate(free):
            sims = decided_centers @ X[row] if decided_ids else np.zeros(0)
            best = int(np.argmax(sims)) if len(sims) else -1
            joins = best >= 0 and sims[best] > 0
            assignment[idea.id] = decided_ids[best] if joins else OTHER

    # Stable ids: match free clusters to the previous refresh's, decided ids excluded.
    decided = set(fixed.values())
    old_members: dict[str, set[str]] = {}
    if previous is not None:
        for idea_id, cid in previous.assignment.items():
            if cid != OTHER and cid not in decided:
                old_members.setdefault(cid, set()).add(idea_id)
    retired = {e.cluster_id for e in snapshot.edits if e.kind in ("merge", "split")}
    old_members = {c: m for c, m in old_members.items() if c not in retired}
    matched = _match(new_members, old_members, config.match_min_jaccard)
    number = _next_number(previous, snapshot.edits)
    for label in sorted(new_members, key=lambda k: (-len(new_members[k]), k)):
        cid = matched.get(label)
        if cid is None:
            cid, number = f"t{number}", number + 1
        for idea_id in new_members[label]:
            assignment[idea_id] = cid

    clusters, model = _describe_all(
        snapshot, ideas, assignment, vectors, labels, pinned, describe, map_positions, config
    )
    topics = Topics(
        position=snapshot.position,
        as_of=snapshot.as_of,
        clusters=clusters,
        assignment=dict(sorted(assignment.items())),
        method=method,
        next_id=number,
    )
    return topics, model


def _centres(ids: Sequence[str], assignment: dict[str, str], vectors: dict[str, np.ndarray]):
    if not ids:
        return np.zeros((0, 1))
    index = {cid: n for n, cid in enumerate(ids)}
    dim = len(next(iter(vectors.values())))
    sums = np.zeros((len(ids), dim))
    for idea_id, cid in assignment.items():
        if cid in index:
            sums[index[cid]] += vectors[idea_id]
    return _normalised(sums)


def _describe_all(
    snapshot: JamSnapshot,
    ideas: Sequence[IdeaRow],
    assignment: dict[str, str],
    vectors: dict[str, np.ndarray],
    labels: dict[str, str],
    pinned: set[str],
    describe: Describe,
    map_positions: MapPositions,
    config: TopicConfig,
) -> tuple[tuple[Cluster, ...], TopicModel]:
    ids = sorted({c for c in assignment.values() if c != OTHER}, key=_sort_key)
    if not ids:
        return (), TopicModel((), np.zeros((0, 1), dtype=np.float32), 1.0)
    index = {cid: n for n, cid in enumerate(ids)}
    centers = _centres(ids, assignment, vectors)
    by_cluster: dict[str, list[IdeaRow]] = {cid: [] for cid in ids}
    for idea in ideas:
        cid = assignment.get(idea.id, OTHER)
        if cid != OTHER:
            by_cluster[cid].append(idea)

    texts = [i.text for i in ideas]
    codes = np.array([index.get(assignment.get(i.id, OTHER), -1) for i in ideas])
    terms = describe(texts, codes, config.n_terms)
    xy = map_positions(centers, config.random_state) if len(ids) > 1 else np.zeros((1, 2))

    hour_ago = snapshot.as_of - timedelta(hours=1)
    start = min(i.posted_at for i in ideas)
    hours = max((snapshot.as_of - start).total_seconds() / 3600, 1.0)
    clusters = []
    member_sims: list[float] = []
    for cid in ids:
        members = by_cluster[cid]
        n = index[cid]
        sims = sorted(
            ((float(vectors[i.id] @ centers[n]), i.id) for i in members),
            key=lambda s: (-s[0], s[1]),
        )
        member_sims.extend(s for s, _ in sims)
        growth = sum(1 for i in members if i.posted_at >= hour_ago)
        # Emerging: the last hour brought several times the cluster's average hourly growth.
        emerging = (
            growth >= config.emerging_min_ideas
            and growth >= config.emerging_ratio * len(members) / hours
        )
        words = tuple(terms.get(n, []))
        clusters.append(
            Cluster(
                id=cid,
                label=labels.get(cid) or " · ".join(words[:3]) or cid,
                terms=words,
                size=len(members),
                representatives=_distinct(sims, members, config.n_representatives),
                growth_last_hour=growth,
                emerging=emerging,
                segments=dict(sorted(Counter(i.author_segment for i in members).items())),
                x=round(float(xy[n][0]), 4),
                y=round(float(xy[n][1]), 4),
                pinned=cid in pinned,
                renamed=cid in labels,
            )
        )
    clusters.sort(key=lambda c: (-c.size, _sort_key(c.id)))
    # Between refreshes a new idea joins the nearest cluster unless it is further from
    # it than every current member is from theirs: then it waits in "other".
    floor = min(member_sims) - ASSIGN_SLACK if member_sims else 1.0
    return tuple(clusters), TopicModel(tuple(ids), centers.astype(np.float32), floor)


def _sort_key(cluster_id: str) -> tuple[int, str]:
    return (_number(cluster_id), cluster_id)
