"""Votes: one per person per idea, +1 or -1 or a pass, only on visible ideas of an open jam."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import uuid5

import pytest

from domain import Idea, Jam, Participant, Vote
from domain.errors import (
    ConflictingState,
    IdeaHidden,
    InvalidValue,
    JamNotOpen,
    NotPermitted,
    OtherJam,
    ParticipantBlocked,
)
from domain.values import VOTE_NAMESPACE, vote_id
from tests.domain.builders import (
    DURING,
    MINUTE,
    OUTSIDE,
    a_moment_outside_the_window,
    an_idea_in_an_open_jam,
    block,
    join,
    replay,
)


def cast(jam: Jam, idea: Idea, voter: Participant, value: int = 1, at: datetime = DURING) -> Vote:
    return Vote.cast(idea=idea, jam=jam, voter=voter, value=value, at=at)


# Who may vote on what, and when. Each way of voting is readied while all is well,
# then something changes, then the voter tries.

Attempt = Callable[[datetime], object]


def cast_a_vote(jam: Jam, idea: Idea, voter: Participant) -> Attempt:
    return lambda at: cast(jam, idea, voter, at=at)


def change_a_vote(jam: Jam, idea: Idea, voter: Participant) -> Attempt:
    vote = cast(jam, idea, voter, value=1, at=DURING)
    return lambda at: vote.change(value=-1, idea=idea, jam=jam, voter=voter, at=at)


def withdraw_a_vote(jam: Jam, idea: Idea, voter: Participant) -> Attempt:
    vote = cast(jam, idea, voter, value=1, at=DURING)
    return lambda at: vote.withdraw(idea=idea, jam=jam, voter=voter, at=at)


def pass_an_idea(jam: Jam, idea: Idea, voter: Participant) -> Attempt:
    return lambda at: Vote.pass_on(idea=idea, jam=jam, voter=voter, at=at)


def pass_after_voting(jam: Jam, idea: Idea, voter: Participant) -> Attempt:
    vote = cast(jam, idea, voter, value=1, at=DURING)
    return lambda at: vote.pass_(idea=idea, jam=jam, voter=voter, at=at)


VOTING = [cast_a_vote, change_a_vote, withdraw_a_vote, pass_an_idea, pass_after_voting]


@pytest.mark.parametrize("ready", VOTING)
@pytest.mark.parametrize("when", OUTSIDE)
def test_no_one_votes_outside_the_jams_open_window(ready, when: str) -> None:
    jam, idea = an_idea_in_an_open_jam()
    attempt = ready(jam, idea, join(jam=jam))
    at = a_moment_outside_the_window(when, jam)
    with pytest.raises(JamNotOpen):
        attempt(at)


@pytest.mark.parametrize("ready", [r for r in VOTING if r is not withdraw_a_vote])
def test_no_one_votes_on_a_hidden_idea(ready) -> None:
    jam, idea = an_idea_in_an_open_jam()
    organizer = join("organizer", jam)
    attempt = ready(jam, idea, join(jam=jam))
    idea.hide(reason="Off topic", by=organizer, at=DURING + MINUTE)
    with pytest.raises(IdeaHidden):
        attempt(DURING + 2 * MINUTE)
    idea.restore(reason="Fine", by=organizer, at=DURING + 3 * MINUTE)
    attempt(DURING + 4 * MINUTE)


def test_a_vote_on_a_hidden_idea_can_still_be_withdrawn() -> None:
    # Taking one's support back is one's own; hiding the idea must not lock it in.
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = cast(jam, idea, voter)
    idea.hide(reason="Off topic", by=join("organizer", jam), at=DURING + MINUTE)
    vote.withdraw(idea=idea, jam=jam, voter=voter, at=DURING + 2 * MINUTE)
    assert (vote.value, vote.passed) == (0, False)


@pytest.mark.parametrize("ready", VOTING)
def test_a_blocked_participant_cannot_vote(ready) -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    attempt = ready(jam, idea, voter)
    block(voter, at=DURING + MINUTE)
    with pytest.raises(ParticipantBlocked):
        attempt(DURING + 2 * MINUTE)


def test_a_participant_of_another_jam_cannot_vote() -> None:
    jam, idea = an_idea_in_an_open_jam()
    other_jam, _ = an_idea_in_an_open_jam()
    with pytest.raises(OtherJam):
        cast(jam, idea, join(jam=other_jam))


# Values


def test_a_vote_records_the_idea_voter_jam_segment_and_value() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam, segment="client")
    vote = cast(jam, idea, voter, value=-1)
    assert (vote.idea_id, vote.participant_id, vote.jam_id) == (idea.id, voter.id, jam.id)
    assert (vote.segment, vote.value) == ("client", -1)


def test_a_votes_id_is_derived_from_the_idea_and_the_voter() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = cast(jam, idea, voter)
    assert vote.id == vote_id(idea.id, voter.id) == Vote.create_id(idea.id, voter.id)
    assert vote.id == uuid5(VOTE_NAMESPACE, f"{idea.id.hex}:{voter.id.hex}")
    assert cast(jam, idea, voter, value=-1, at=DURING + MINUTE).id == vote.id
    assert cast(jam, idea, join(jam=jam)).id != vote.id


@pytest.mark.parametrize("value", [0, 2, -2, 10])
def test_a_vote_is_cast_as_plus_or_minus_one(value: int) -> None:
    jam, idea = an_idea_in_an_open_jam()
    with pytest.raises(InvalidValue):
        cast(jam, idea, join(jam=jam), value=value)


@pytest.mark.parametrize("value", [0, 2, -2])
def test_a_vote_is_changed_to_plus_or_minus_one(value: int) -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = cast(jam, idea, voter, value=1)
    with pytest.raises(InvalidValue):
        vote.change(value=value, idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)


def test_a_voter_changes_their_mind() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = cast(jam, idea, voter, value=1)
    vote.change(value=-1, idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)
    assert vote.value == -1


def test_changing_a_vote_to_the_value_it_has_conflicts() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = cast(jam, idea, voter, value=1)
    with pytest.raises(ConflictingState):
        vote.change(value=1, idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)


def test_withdrawing_sets_the_vote_to_zero_and_cannot_be_repeated() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = cast(jam, idea, voter, value=-1)
    vote.withdraw(idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)
    assert vote.value == 0
    with pytest.raises(ConflictingState):
        vote.withdraw(idea=idea, jam=jam, voter=voter, at=DURING + 2 * MINUTE)


def test_a_withdrawn_vote_is_cast_again_by_changing_it() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = cast(jam, idea, voter, value=1)
    vote.withdraw(idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)
    vote.change(value=1, idea=idea, jam=jam, voter=voter, at=DURING + 2 * MINUTE)
    assert vote.value == 1


# Events


def a_vote_with_a_history() -> Vote:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = cast(jam, idea, voter, value=1, at=DURING)
    vote.change(value=-1, idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)
    vote.withdraw(idea=idea, jam=jam, voter=voter, at=DURING + 2 * MINUTE)
    vote.change(value=1, idea=idea, jam=jam, voter=voter, at=DURING + 3 * MINUTE)
    return vote


def test_vote_events_are_past_tense_and_stamped_with_the_given_time() -> None:
    events = a_vote_with_a_history().collect_events()
    assert [type(e).__name__ for e in events] == ["Cast", "Changed", "Withdrawn", "Changed"]
    assert [e.timestamp for e in events] == [DURING + n * MINUTE for n in range(4)]


def test_replaying_a_votes_events_rebuilds_the_same_vote() -> None:
    vote = a_vote_with_a_history()
    rebuilt = replay(vote.collect_events())
    assert vars(rebuilt) == vars(vote)
    assert (rebuilt.id, rebuilt.value, rebuilt.version) == (vote.id, 1, 4)


def test_only_the_voter_can_change_or_withdraw_their_vote() -> None:
    jam, idea = an_idea_in_an_open_jam()
    vote = cast(jam, idea, join(jam=jam))
    mallory = join(jam=jam)
    with pytest.raises(NotPermitted):
        vote.change(value=-1, idea=idea, jam=jam, voter=mallory, at=DURING)
    with pytest.raises(NotPermitted):
        vote.withdraw(idea=idea, jam=jam, voter=mallory, at=DURING)


def test_a_vote_names_the_jam_its_idea_belongs_to() -> None:
    jam, idea = an_idea_in_an_open_jam()
    other_jam, _ = an_idea_in_an_open_jam()
    with pytest.raises(ConflictingState, match="another jam"):
        cast(other_jam, idea, join(jam=jam))


# Passes: seen, not voted (as Pol.is records them). Value 0, never support.


def a_pass(jam: Jam, idea: Idea, voter: Participant, at: datetime = DURING) -> Vote:
    return Vote.pass_on(idea=idea, jam=jam, voter=voter, at=at)


def test_a_pass_is_a_vote_of_value_zero_created_by_its_own_event() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam, segment="client")
    vote = a_pass(jam, idea, voter)
    assert (vote.id, vote.value, vote.passed, vote.segment) == (
        vote_id(idea.id, voter.id),
        0,
        True,
        "client",
    )
    [created] = vote.collect_events()
    assert (type(created).__name__, created.timestamp) == ("Passed", DURING)
    assert vars(replay([created])) == vars(vote)


def test_a_pass_turns_into_a_vote_and_a_vote_into_a_pass() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = a_pass(jam, idea, voter)
    vote.change(value=-1, idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)
    assert (vote.value, vote.passed) == (-1, False)
    vote.pass_(idea=idea, jam=jam, voter=voter, at=DURING + 2 * MINUTE)
    assert (vote.value, vote.passed) == (0, True)
    events = vote.collect_events()
    assert [type(e).__name__ for e in events] == ["Passed", "Changed", "Changed"]
    assert [e.value for e in events] == [0, -1, 0]
    assert vars(replay(events)) == vars(vote)


def test_passing_twice_conflicts() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = a_pass(jam, idea, voter)
    with pytest.raises(ConflictingState, match="already passed"):
        vote.pass_(idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)


def test_a_withdrawn_pass_is_neither_a_vote_nor_a_pass_and_can_be_passed_again() -> None:
    jam, idea = an_idea_in_an_open_jam()
    voter = join(jam=jam)
    vote = a_pass(jam, idea, voter)
    vote.withdraw(idea=idea, jam=jam, voter=voter, at=DURING + MINUTE)
    assert (vote.value, vote.passed) == (0, False)
    with pytest.raises(ConflictingState, match="already withdrawn"):
        vote.withdraw(idea=idea, jam=jam, voter=voter, at=DURING + 2 * MINUTE)
    vote.pass_(idea=idea, jam=jam, voter=voter, at=DURING + 3 * MINUTE)
    assert (vote.value, vote.passed) == (0, True)


def test_only_the_voter_can_pass_their_vote() -> None:
    jam, idea = an_idea_in_an_open_jam()
    vote = cast(jam, idea, join(jam=jam))
    with pytest.raises(NotPermitted):
        vote.pass_(idea=idea, jam=jam, voter=join(jam=jam), at=DURING)
