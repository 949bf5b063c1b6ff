"""Participants and the invites they join with."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    ConflictingState,
    InvalidValue,
    InviteUsedUp,
    NotLeader,
    NotOrganizer,
    NotPermitted,
    OtherJam,
    ParticipantBlocked,
)
from domain.text import NAME_MAX, REASON_MAX, require_text
from domain.values import Role, Segment, invite_id, parse_enum, sign_in_key_id

MAX_INVITE_USES = 100_000
_SESSION = re.compile(r"^[0-9A-Za-z]{1,64}$")


class Invite(Aggregate):
    """A code that lets people join with a given role and segment.

    Its id is derived from the code (uuid5), so the code itself is never stored.
    """

    id: UUID

    @classmethod
    def issue(
        cls,
        *,
        code: str,
        role: str,
        segment: str,
        jam_id: UUID | None,
        uses: int,
        by: Participant | None,
        at: datetime,
    ) -> Invite:
        """Issue an invite; `by` is None for the operator at the command line."""
        checked_role = parse_enum(Role, role, "role")
        checked_segment = parse_enum(Segment, segment, "segment")
        if jam_id is None and checked_role is not Role.ORGANIZER:
            raise InvalidValue(f"a {checked_role.value} invite needs a jam")
        if by is not None:
            by.require_organizer(jam_id)
        if not 1 <= uses <= MAX_INVITE_USES:
            raise InvalidValue(f"uses must be between 1 and {MAX_INVITE_USES:,}")
        return cls(
            id=invite_id(code),
            role=checked_role.value,
            segment=checked_segment.value,
            jam_id=jam_id,
            uses=uses,
            issued_by=by.id if by else None,
            timestamp=at,
        )

    @event("Issued")
    def __init__(
        self,
        role: str,
        segment: str,
        jam_id: UUID | None,
        uses: int,
        issued_by: UUID | None,
        timestamp: datetime,
    ) -> None:
        self.role = Role(role)
        self.segment = Segment(segment)
        self.jam_id = jam_id
        self.uses = uses
        self.redeemed = 0

    def redeem(self, *, participant_id: UUID, at: datetime) -> None:
        if self.redeemed >= self.uses:
            raise InviteUsedUp("this invite code has been used up")
        self._redeemed(participant_id=participant_id, timestamp=at)

    @event("Redeemed")
    def _redeemed(self, participant_id: UUID, timestamp: datetime) -> None:
        self.redeemed += 1


def invited_to(own_jam: UUID | None, jam_id: UUID | None) -> bool:
    """Whether someone joined to `own_jam` takes part in `jam_id`: an organizer without a
    jam (None) organizes every jam; everyone else takes part in their own only."""
    return own_jam is None or own_jam == jam_id


class Participant(Aggregate):
    id: UUID

    @classmethod
    def join(
        cls, *, participant_id: UUID, invite: Invite, display_name: str, at: datetime
    ) -> Participant:
        """Join with an invite; the caller saves the redeemed invite alongside."""
        name = require_text("display name", display_name, max_len=NAME_MAX)
        invite.redeem(participant_id=participant_id, at=at)
        return cls(
            id=participant_id,
            jam_id=invite.jam_id,
            display_name=name,
            segment=invite.segment.value,
            role=invite.role.value,
            invite_id=invite.id,
            timestamp=at,
        )

    @event("Joined")
    def __init__(
        self,
        jam_id: UUID | None,
        display_name: str,
        segment: str,
        role: str,
        invite_id: UUID,
        timestamp: datetime,
    ) -> None:
        self.jam_id = jam_id
        self.display_name = display_name
        self.segment = Segment(segment)
        self.role = Role(role)
        self.blocked = False
        self.sign_in_key: UUID | None = None

    # Permission checks. An organizer without a jam organizes every jam.
    def belongs_to(self, jam_id: UUID | None) -> bool:
        return invited_to(self.jam_id, jam_id)

    def require_active(self, jam_id: UUID) -> None:
        if self.blocked:
            # Said to the one acting, who is the one refused.
            raise ParticipantBlocked(
                "an organizer has blocked you from writing in this jam; you can still read"
            )
        if not self.belongs_to(jam_id):
            raise OtherJam("you were invited to another jam, not this one")

    def acts_as(self, role: Role, jam_id: UUID | None) -> bool:
        """Holds `role` for this jam and is not blocked."""
        return not self.blocked and self.role is role and self.belongs_to(jam_id)

    def require_organizer(self, jam_id: UUID | None) -> None:
        if not self.acts_as(Role.ORGANIZER, jam_id):
            raise NotOrganizer(self._refusal(Role.ORGANIZER, jam_id, "an organizer"))

    def require_leader(self, jam_id: UUID) -> None:
        if not self.acts_as(Role.LEADER, jam_id):
            raise NotLeader(self._refusal(Role.LEADER, jam_id, "a leader"))

    def blocked_as(self, role: Role, jam_id: UUID | None) -> bool:
        """Holds `role` for this jam but is blocked: the role is theirs, its powers are not.
        Said as such when refused, or they would read that the role is not theirs."""
        return self.blocked and self.role is role and self.belongs_to(jam_id)

    def _refusal(self, role: Role, jam_id: UUID | None, named: str) -> str:
        if self.blocked_as(role, jam_id):
            return f"you are blocked in this jam, so you can no longer act as {named} of it"
        if jam_id is None:  # making a jam: there is no "this jam" yet
            return f"only {named} may do that"
        return f"only {named} of this jam may do that"

    def rename(self, *, display_name: str, by: Participant, at: datetime) -> None:
        if by.id != self.id:
            by.require_organizer(self.jam_id)
        name = require_text("display name", display_name, max_len=NAME_MAX)
        if name == self.display_name:
            raise ConflictingState("that is already the display name")
        self._renamed(display_name=name, renamed_by=by.id, timestamp=at)

    @event("Renamed")
    def _renamed(self, display_name: str, renamed_by: UUID, timestamp: datetime) -> None:
        self.display_name = display_name

    def block(self, *, reason: str, by: Participant, at: datetime) -> None:
        self._require_moderator(by)
        if self.blocked:
            raise ConflictingState("this participant is already blocked")
        self._blocked(
            reason=require_text("reason", reason, max_len=REASON_MAX),
            blocked_by=by.id,
            timestamp=at,
        )

    @event("Blocked")
    def _blocked(self, reason: str, blocked_by: UUID, timestamp: datetime) -> None:
        self.blocked = True

    def unblock(self, *, reason: str, by: Participant, at: datetime) -> None:
        self._require_moderator(by)
        if not self.blocked:
            raise ConflictingState("this participant is not blocked")
        self._unblocked(
            reason=require_text("reason", reason, max_len=REASON_MAX, min_len=0),
            unblocked_by=by.id,
            timestamp=at,
        )

    @event("Unblocked")
    def _unblocked(self, reason: str, unblocked_by: UUID, timestamp: datetime) -> None:
        self.blocked = False

    def end_session(self, *, session: str, at: datetime) -> None:
        """Sign out one session for good: the tokens that name `session` stop working
        everywhere, copies of them included."""
        if not isinstance(session, str) or not _SESSION.match(session):
            raise InvalidValue("a session is named by 1 to 64 letters and digits")
        self._session_ended(session=session, timestamp=at)

    @event("SessionEnded")
    def _session_ended(self, session: str, timestamp: datetime) -> None:
        pass  # a fact for the workers that check tokens, not for any decision here

    def signs_in_with(self, key: SignInKey) -> bool:
        """Only the newest key a participant made signs them in: a new one retires the old."""
        return key.participant_id == self.id and key.id == self.sign_in_key

    @event("SignInKeyMade")
    def _sign_in_key_made(self, key_id: UUID, timestamp: datetime) -> None:
        self.sign_in_key = key_id

    def _require_moderator(self, by: Participant) -> None:
        by.require_organizer(self.jam_id)
        if by.id == self.id:
            raise NotPermitted("organizers cannot block or unblock themselves")


class SignInKey(Aggregate):
    """A participant's own code for signing back in, made at their request.

    Like an invite's, its id is derived from the code, so the code is never stored: not
    even organizers, who see every invite code, can read it and sign in as its holder.
    """

    id: UUID

    @classmethod
    def make(cls, *, code: str, holder: Participant, by: Participant, at: datetime) -> SignInKey:
        """Made by the holder alone (anyone else could then sign in as them); the caller
        saves the holder, which now takes only this key, alongside."""
        if by.id != holder.id:
            raise NotPermitted("only participants themselves can make their sign-in code")
        key = cls(id=sign_in_key_id(code), participant_id=holder.id, timestamp=at)
        holder._sign_in_key_made(key_id=key.id, timestamp=at)
        return key

    @event("Made")
    def __init__(self, participant_id: UUID, timestamp: datetime) -> None:
        self.participant_id = participant_id
