"""Typed domain errors: each names the rule that refused a command."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A command was refused by a domain rule; nothing was recorded."""

    code: ClassVar[str] = "domain_error"


class InvalidText(DomainError):
    code = "invalid_text"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field


class InvalidValue(DomainError):
    code = "invalid_value"


class InvalidSchedule(DomainError):
    code = "invalid_schedule"


class JamNotOpen(DomainError):
    code = "jam_not_open"


class UnknownForum(DomainError):
    code = "unknown_forum"


class ConflictingState(DomainError):
    """The command does not fit the aggregate's current state."""

    code = "conflicting_state"


class IdeaHidden(ConflictingState):
    code = "idea_hidden"


class CommentHidden(ConflictingState):
    code = "comment_hidden"


class InviteUsedUp(ConflictingState):
    code = "invite_used_up"


class NotPermitted(DomainError):
    code = "not_permitted"


class NotOrganizer(NotPermitted):
    code = "not_organizer"


class NotLeader(NotPermitted):
    code = "not_leader"


class NotAuthor(NotPermitted):
    code = "not_author"


class ParticipantBlocked(NotPermitted):
    code = "participant_blocked"


class OtherJam(NotPermitted):
    code = "other_jam"
