"""The topic board: an organizer's decisions about a jam's topic clusters.

Clusters themselves are computed (a read model of the ranking worker), so the
board does not know which clusters exist now; it records what an organizer
decided about the cluster they saw, with the ideas it held at that moment. Every
later refresh respects those decisions from the log alone: a pinned cluster keeps
its ideas, merged clusters stay together, a split cluster stays apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import ConflictingState, InvalidValue
from domain.text import quoted, require_text

if TYPE_CHECKING:
    from domain.participant import Participant

TOPIC_BOARD_NAMESPACE = UUID("3c0b8d6a-8f0e-4f2b-9d4e-5b1f6a7c2d90")
LABEL_MAX = 80
MAX_MEMBERS = 50_000  # a cluster's ideas, recorded with a pin, merge or split
_CLUSTER_ID = re.compile(r"^t[0-9]{1,9}(?:\.[0-9]{1,3})*$")  # "t7", or "t7.2" after a split


def topic_board_id(jam_id: UUID) -> UUID:
    return uuid5(TOPIC_BOARD_NAMESPACE, jam_id.hex)


def require_cluster_id(cluster_id: str) -> str:
    if cluster_id == "":  # nothing chosen (a form's "choose…")
        raise InvalidValue("choose a topic")
    if not isinstance(cluster_id, str) or not _CLUSTER_ID.match(cluster_id):
        raise InvalidValue(f"{quoted(cluster_id)} is not a topic cluster id")
    return cluster_id


def _members(ideas: Sequence[UUID]) -> list[UUID]:
    unique = sorted(set(ideas))
    if not unique:
        raise InvalidValue("a cluster with no ideas cannot be pinned, merged or split")
    if len(unique) > MAX_MEMBERS:
        raise InvalidValue(f"a cluster may hold at most {MAX_MEMBERS:,} ideas here")
    return unique


class TopicBoard(Aggregate):
    id: UUID

    @classmethod
    def open(cls, *, jam_id: UUID, by: Participant, at: datetime) -> TopicBoard:
        by.require_organizer(jam_id)
        return cls(id=topic_board_id(jam_id), jam_id=jam_id, timestamp=at)

    @event("Opened")
    def __init__(self, jam_id: UUID, timestamp: datetime) -> None:
        self.jam_id = jam_id
        self.labels: dict[str, str] = {}
        self.pinned: set[str] = set()
        self.retired: set[str] = set()  # merged away or split: no longer a cluster

    def _require_live(self, cluster_id: str, by: Participant) -> str:
        by.require_organizer(self.jam_id)
        require_cluster_id(cluster_id)
        if cluster_id in self.retired:
            raise ConflictingState(f"cluster {cluster_id} was merged or split")
        return cluster_id

    def rename(self, *, cluster_id: str, label: str, by: Participant, at: datetime) -> None:
        self._require_live(cluster_id, by)
        label = require_text("label", label, max_len=LABEL_MAX)
        if self.labels.get(cluster_id) == label:
            raise ConflictingState("the cluster already has that label")
        self._renamed(
            jam_id=self.jam_id, cluster_id=cluster_id, label=label, renamed_by=by.id, timestamp=at
        )

    @event("Renamed")
    def _renamed(
        self, jam_id: UUID, cluster_id: str, label: str, renamed_by: UUID, timestamp: datetime
    ) -> None:
        self.labels[cluster_id] = label

    def pin(self, *, cluster_id: str, ideas: Sequence[UUID], by: Participant, at: datetime) -> None:
        """Keep this cluster and its ideas together through every later refresh."""
        self._require_live(cluster_id, by)
        if cluster_id in self.pinned:
            raise ConflictingState("the cluster is already pinned")
        self._pinned(
            jam_id=self.jam_id,
            cluster_id=cluster_id,
            ideas=_members(ideas),
            pinned_by=by.id,
            timestamp=at,
        )

    @event("Pinned")
    def _pinned(
        self, jam_id: UUID, cluster_id: str, ideas: list[UUID], pinned_by: UUID, timestamp: datetime
    ) -> None:
        self.pinned.add(cluster_id)

    def unpin(self, *, cluster_id: str, by: Participant, at: datetime) -> None:
        self._require_live(cluster_id, by)
        if cluster_id not in self.pinned:
            raise ConflictingState("the cluster is not pinned")
        self._unpinned(jam_id=self.jam_id, cluster_id=cluster_id, unpinned_by=by.id, timestamp=at)

    @event("Unpinned")
    def _unpinned(
        self, jam_id: UUID, cluster_id: str, unpinned_by: UUID, timestamp: datetime
    ) -> None:
        self.pinned.discard(cluster_id)

    def merge(
        self,
        *,
        cluster_id: str,
        into: str,
        ideas: Sequence[UUID],
        by: Participant,
        at: datetime,
    ) -> None:
        """Fold `cluster_id` (holding `ideas`) into `into`, for good."""
        self._require_live(cluster_id, by)
        self._require_live(into, by)
        if cluster_id == into:
            raise ConflictingState("a cluster cannot be merged into itself")
        self._merged(
            jam_id=self.jam_id,
            cluster_id=cluster_id,
            into=into,
            ideas=_members(ideas),
            merged_by=by.id,
            timestamp=at,
        )

    @event("Merged")
    def _merged(
        self,
        jam_id: UUID,
        cluster_id: str,
        into: str,
        ideas: list[UUID],
        merged_by: UUID,
        timestamp: datetime,
    ) -> None:
        self.retired.add(cluster_id)
        self.pinned.discard(cluster_id)

    def split(
        self, *, cluster_id: str, ideas: Sequence[UUID], by: Participant, at: datetime
    ) -> None:
        """Divide the cluster's ideas in two ("t7" becomes "t7.1" and "t7.2")."""
        self._require_live(cluster_id, by)
        members = _members(ideas)
        if len(members) < 2:
            raise InvalidValue("a cluster needs at least two ideas to be split")
        self._split(
            jam_id=self.jam_id, cluster_id=cluster_id, ideas=members, split_by=by.id, timestamp=at
        )

    @event("Split")
    def _split(
        self, jam_id: UUID, cluster_id: str, ideas: list[UUID], split_by: UUID, timestamp: datetime
    ) -> None:
        self.retired.add(cluster_id)
        self.pinned.discard(cluster_id)
