"""Invites let people join; organizers block and unblock participants."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain import Participant, SignInKey
from domain.errors import (
    ConflictingState,
    InvalidValue,
    InviteUsedUp,
    NotLeader,
    NotOrganizer,
    NotPermitted,
)
from domain.values import Role, Segment, invite_id, sign_in_key_id
from tests.domain.builders import (
    CREATED,
    DURING,
    MINUTE,
    STARTS,
    create_jam,
    issue,
    join,
    redeem,
    replay,
)

# Invites


def test_a_participant_joins_with_the_role_segment_and_jam_of_the_invite() -> None:
    jam = create_jam()
    invite = issue("leader", jam, segment="client")
    ada = redeem(invite, name="  Ada   Lovelace ")
    assert (ada.role, ada.segment, ada.jam_id) == (Role.LEADER, Segment.CLIENT, jam.id)
    assert ada.display_name == "Ada Lovelace"
    assert not ada.blocked
    assert invite.redeemed == 1


def test_an_invite_is_used_up_after_its_one_use() -> None:
    invite = issue(jam=create_jam(), uses=1)
    redeem(invite)
    with pytest.raises(InviteUsedUp):
        redeem(invite, name="Bob")
    assert issubclass(InviteUsedUp, ConflictingState)


def test_an_invite_for_several_uses_admits_that_many_people() -> None:
    invite = issue(jam=create_jam(), uses=3)
    for name in ("Ada", "Bob", "Cy"):
        redeem(invite, name=name)
    with pytest.raises(InviteUsedUp):
        redeem(invite, name="Dee")


@pytest.mark.parametrize("uses", [0, -1, 100_001])
def test_an_invite_allows_1_to_100000_uses(uses: int) -> None:
    with pytest.raises(InvalidValue):
        issue("organizer", uses=uses)


@pytest.mark.parametrize("role", ["participant", "leader"])
def test_a_participant_or_leader_invite_needs_a_jam(role: str) -> None:
    with pytest.raises(InvalidValue, match="needs a jam"):
        issue(role, None)


def test_an_organizer_invite_needs_no_jam() -> None:
    organizer = join("organizer")
    assert organizer.role is Role.ORGANIZER
    assert organizer.jam_id is None


@pytest.mark.parametrize(("role", "segment"), [("admin", "employee"), ("participant", "robot")])
def test_an_invite_has_a_known_role_and_segment(role: str, segment: str) -> None:
    with pytest.raises(InvalidValue):
        issue(role, create_jam(), segment=segment)


def test_an_invites_id_is_derived_from_its_code() -> None:
    invite = issue("organizer", code="abcd-efgh")
    assert invite.id == invite_id("ABCDEFGH") == invite_id(" abcd efgh ")
    assert invite.id != invite_id("ABCDEFGI")


@pytest.mark.parametrize("role", ["participant", "leader"])
def test_only_an_organizer_issues_invites(role: str) -> None:
    jam = create_jam()
    with pytest.raises(NotOrganizer):
        issue(jam=jam, by=join(role, jam))


def test_an_organizer_of_one_jam_cannot_invite_to_another() -> None:
    jam = create_jam()
    with pytest.raises(NotOrganizer):
        issue(jam=jam, by=join("organizer", create_jam()))


def test_an_organizer_of_a_jam_cannot_invite_organizers_of_every_jam() -> None:
    jam = create_jam()
    with pytest.raises(NotOrganizer):
        issue("organizer", None, by=join("organizer", jam))


def test_an_organizer_of_a_jam_or_of_no_jam_invites_to_it() -> None:
    jam = create_jam()
    assert issue(jam=jam, by=join("organizer", jam)).jam_id == jam.id
    assert issue(jam=jam, by=join("organizer")).jam_id == jam.id


# Blocking


def test_an_organizer_blocks_and_unblocks_a_participant() -> None:
    jam = create_jam()
    organizer, ada = join("organizer", jam), join(jam=jam)
    ada.block(reason="Spam", by=organizer, at=DURING)
    assert ada.blocked
    ada.unblock(reason="", by=organizer, at=DURING + MINUTE)
    assert not ada.blocked


@pytest.mark.parametrize("role", ["participant", "leader"])
def test_only_organizers_block_or_unblock(role: str) -> None:
    jam = create_jam()
    ada, someone = join(jam=jam), join(role, jam)
    with pytest.raises(NotOrganizer):
        ada.block(reason="Spam", by=someone, at=DURING)
    ada.block(reason="Spam", by=join("organizer"), at=DURING)
    with pytest.raises(NotOrganizer):
        ada.unblock(reason="", by=someone, at=DURING)


def test_a_blocked_organizer_or_leader_is_told_they_are_blocked() -> None:
    jam = create_jam()
    organizer, leader, ada = join("organizer", jam), join("leader", jam), join(jam=jam)
    for staff in (organizer, leader):
        staff.block(reason="Left the team", by=join("organizer", jam), at=DURING)
    with pytest.raises(NotOrganizer, match="you are blocked in this jam") as refused:
        ada.block(reason="Spam", by=organizer, at=DURING)
    assert "an organizer" in str(refused.value)
    with pytest.raises(NotLeader, match="you are blocked in this jam, so you can no longer act"):
        leader.require_leader(jam.id)
    with pytest.raises(NotOrganizer, match="only an organizer of this jam"):  # not blocked
        ada.block(reason="Spam", by=join(jam=jam), at=DURING)
    with pytest.raises(NotOrganizer, match=r"^only an organizer may do that$"):  # no jam yet
        ada.require_organizer(None)


def test_an_organizer_of_another_jam_cannot_block() -> None:
    ada = join(jam=create_jam())
    with pytest.raises(NotOrganizer):
        ada.block(reason="Spam", by=join("organizer", create_jam()), at=DURING)


def test_an_organizer_of_no_jam_can_block_in_any_jam() -> None:
    ada = join(jam=create_jam())
    ada.block(reason="Spam", by=join("organizer"), at=DURING)
    assert ada.blocked


def test_an_organizer_cannot_block_themselves() -> None:
    organizer = join("organizer", create_jam())
    with pytest.raises(NotPermitted):
        organizer.block(reason="Oops", by=organizer, at=DURING)


def test_a_blocked_organizer_cannot_block_anyone() -> None:
    jam = create_jam()
    rogue, ada = join("organizer", jam), join(jam=jam)
    rogue.block(reason="Rogue", by=join("organizer"), at=DURING)
    with pytest.raises(NotOrganizer):
        ada.block(reason="Spam", by=rogue, at=DURING + MINUTE)


def test_blocking_twice_or_unblocking_an_active_participant_conflicts() -> None:
    jam = create_jam()
    organizer, ada = join("organizer", jam), join(jam=jam)
    with pytest.raises(ConflictingState):
        ada.unblock(reason="", by=organizer, at=DURING)
    ada.block(reason="Spam", by=organizer, at=DURING)
    with pytest.raises(ConflictingState):
        ada.block(reason="Spam", by=organizer, at=DURING + MINUTE)


# Renaming


def test_a_participant_renames_themselves_and_an_organizer_may_rename_them() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    ada.rename(display_name="Ada L.", by=ada, at=DURING)
    ada.rename(display_name="Ada", by=join("organizer", jam), at=DURING + MINUTE)
    assert ada.display_name == "Ada"


def test_nobody_else_renames_a_participant() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    with pytest.raises(NotOrganizer):
        ada.rename(display_name="Ha", by=join(jam=jam), at=DURING)


# Events


def a_participant_with_a_history() -> Participant:
    jam = create_jam()
    organizer = join("organizer", jam)
    ada = redeem(issue(jam=jam), at=STARTS)
    ada.rename(display_name="Ada L.", by=ada, at=STARTS + MINUTE)
    ada.block(reason="Spam", by=organizer, at=STARTS + 2 * MINUTE)
    ada.unblock(reason="Appealed", by=organizer, at=STARTS + 3 * MINUTE)
    return ada


def test_participant_events_are_past_tense_and_stamped_with_the_given_time() -> None:
    events = a_participant_with_a_history().collect_events()
    assert [type(e).__name__ for e in events] == ["Joined", "Renamed", "Blocked", "Unblocked"]
    assert [e.timestamp for e in events] == [STARTS + n * MINUTE for n in range(4)]


def test_invite_events_are_past_tense_and_stamped_with_the_given_time() -> None:
    invite = issue("organizer")
    redeem(invite, at=STARTS)
    events = invite.collect_events()
    assert [type(e).__name__ for e in events] == ["Issued", "Redeemed"]
    assert [e.timestamp for e in events] == [CREATED, STARTS]


def test_replaying_a_participants_events_rebuilds_the_same_participant() -> None:
    ada = a_participant_with_a_history()
    rebuilt = replay(ada.collect_events())
    assert vars(rebuilt) == vars(ada)
    assert (rebuilt.display_name, rebuilt.blocked) == ("Ada L.", False)


def test_replaying_an_invites_events_keeps_it_used_up() -> None:
    invite = issue(jam=create_jam())
    redeem(invite)
    rebuilt = replay(invite.collect_events())
    assert vars(rebuilt) == vars(invite)
    with pytest.raises(InviteUsedUp):
        rebuilt.redeem(participant_id=UUID(int=1), at=DURING)


# Personal sign-in codes


def test_a_participant_signs_in_only_with_the_newest_key_they_made() -> None:
    ada = join(jam=create_jam())
    first = SignInKey.make(code="AAAAA-BBBBB", holder=ada, by=ada, at=DURING)
    assert first.id == sign_in_key_id("aaaaabbbbb")  # found by the code, never storing it
    assert ada.signs_in_with(first)
    second = SignInKey.make(code="CCCCC-DDDDD", holder=ada, by=ada, at=DURING + MINUTE)
    assert ada.signs_in_with(second)
    assert not ada.signs_in_with(first)  # a new key retires the old
    assert replay(ada.collect_events()).sign_in_key == second.id


def test_only_participants_themselves_make_their_key() -> None:
    jam = create_jam()
    ada, organizer = join(jam=jam), join("organizer", jam)
    with pytest.raises(NotPermitted):
        SignInKey.make(code="AAAAA-BBBBB", holder=ada, by=organizer, at=DURING)
    assert ada.sign_in_key is None


def test_a_key_signs_in_no_one_but_its_holder() -> None:
    jam = create_jam()
    ada, bea = join(jam=jam), join(jam=jam, name="Bea")
    key = SignInKey.make(code="AAAAA-BBBBB", holder=ada, by=ada, at=DURING)
    assert not bea.signs_in_with(key)


# Sessions


def test_signing_out_records_which_session_ended() -> None:
    ada = redeem(issue("participant", create_jam()))
    ada.end_session(session="9f2c41d07ab35e16", at=DURING)
    ended = ada.collect_events()[-1]
    assert type(ended).__name__ == "SessionEnded"
    assert ended.session == "9f2c41d07ab35e16"  # type: ignore[attr-defined]
    for bad in ("", "a.b", "x" * 65, 7):
        with pytest.raises(InvalidValue, match="1 to 64 letters and digits"):
            ada.end_session(session=bad, at=DURING)  # type: ignore[arg-type]
