"""Votes: one aggregate per (idea, participant).

The deterministic id makes "one vote per person per idea" the aggregate's own
consistency boundary, and votes on a popular idea never contend with each other.

A vote's value is +1 (agree), -1 (disagree) or 0. Value 0 is either a pass (the
participant saw the idea and took no side, as Pol.is records it) or a withdrawn
vote; `passed` tells them apart. Neither counts as support.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import ConflictingState, IdeaHidden, InvalidValue, NotPermitted
from domain.values import vote_id

if TYPE_CHECKING:
    from domain.idea import Idea
    from domain.jam import Jam
    from domain.participant import Participant


def check_can_vote(
    idea: Idea, jam: Jam, voter: Participant, at: datetime, *, withdrawing: bool = False
) -> None:
    idea.require_in(jam)
    voter.require_active(idea.jam_id)
    jam.require_open(at)
    if idea.hidden and not withdrawing:  # taking one's support back is always one's own
        raise IdeaHidden("hidden ideas cannot be voted on")


def _check_value(value: int) -> int:
    if value not in (1, -1):
        raise InvalidValue("a vote is +1 or -1")
    return value


class Vote(Aggregate):
    @staticmethod
    def create_id(idea_id: UUID, participant_id: UUID) -> UUID:
        return vote_id(idea_id, participant_id)

    @classmethod
    def cast(cls, *, idea: Idea, jam: Jam, voter: Participant, value: int, at: datetime) -> Vote:
        check_can_vote(idea, jam, voter, at)
        return cls(
            idea_id=idea.id,
            participant_id=voter.id,
            jam_id=idea.jam_id,
            segment=voter.segment.value,
            value=_check_value(value),
            timestamp=at,
        )

    @classmethod
    def pass_on(cls, *, idea: Idea, jam: Jam, voter: Participant, at: datetime) -> Vote:
        """A first look that takes no side: seen, not voted."""
        check_can_vote(idea, jam, voter, at)
        return cls._create(
            cls.Passed,
            id=vote_id(idea.id, voter.id),
            idea_id=idea.id,
            participant_id=voter.id,
            jam_id=idea.jam_id,
            segment=voter.segment.value,
            value=0,
            timestamp=at,
        )

    class Passed(Aggregate.Created):
        """Created by a pass instead of a vote; replays through `__init__` with value 0."""

        idea_id: UUID
        participant_id: UUID
        jam_id: UUID
        segment: str
        value: int

    @event("Cast")
    def __init__(
        self,
        idea_id: UUID,
        participant_id: UUID,
        jam_id: UUID,
        segment: str,
        value: int,
        timestamp: datetime,
    ) -> None:
        self.idea_id = idea_id
        self.participant_id = participant_id
        self.jam_id = jam_id
        self.segment = segment
        self.value = value
        self.passed = value == 0

    def change(self, *, value: int, idea: Idea, jam: Jam, voter: Participant, at: datetime) -> None:
        """Set the vote to +1 or -1 (also after a withdrawal or a pass)."""
        self._require_owner(idea, voter)
        check_can_vote(idea, jam, voter, at)
        if _check_value(value) == self.value:
            raise ConflictingState("the vote already has that value")
        self._changed(value=value, timestamp=at)

    @event("Changed")
    def _changed(self, value: int, timestamp: datetime) -> None:
        self.value = value
        self.passed = value == 0

    def pass_(self, *, idea: Idea, jam: Jam, voter: Participant, at: datetime) -> None:
        """Turn the vote (or a withdrawn one) into a pass: still seen, no longer support."""
        self._require_owner(idea, voter)
        check_can_vote(idea, jam, voter, at)
        if self.passed:
            raise ConflictingState("the idea is already passed")
        self._changed(value=0, timestamp=at)

    def withdraw(self, *, idea: Idea, jam: Jam, voter: Participant, at: datetime) -> None:
        self._require_owner(idea, voter)
        check_can_vote(idea, jam, voter, at, withdrawing=True)
        if self.value == 0 and not self.passed:
            raise ConflictingState("the vote is already withdrawn")
        self._withdrawn(timestamp=at)

    @event("Withdrawn")
    def _withdrawn(self, timestamp: datetime) -> None:
        self.value = 0
        self.passed = False

    def _require_owner(self, idea: Idea, voter: Participant) -> None:
        if (voter.id, idea.id) != (self.participant_id, self.idea_id):
            raise NotPermitted("only the voter can change their vote on this idea")
