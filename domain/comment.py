"""Comments on an idea; a reply names its parent, so threads nest."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    CommentHidden,
    ConflictingState,
    IdeaHidden,
    InvalidValue,
    NotAuthor,
)
from domain.text import BODY_MAX, REASON_MAX, require_text

if TYPE_CHECKING:
    from domain.idea import Idea
    from domain.jam import Jam
    from domain.participant import Participant


# Replies nest this deep at most (a comment on the idea is depth 0): deeper, a thread is
# unreadable, and a chain of hundreds of replies was a way to break its page for everyone.
REPLY_DEPTH_MAX = 10


class Comment(Aggregate):
    id: UUID

    @classmethod
    def post(
        cls,
        *,
        comment_id: UUID,
        idea: Idea,
        jam: Jam,
        author: Participant,
        parent: Comment | None,
        body: str,
        at: datetime,
    ) -> Comment:
        idea.require_in(jam)
        author.require_active(jam.id)
        jam.require_open(at)
        if idea.hidden:
            raise IdeaHidden("the idea is hidden")
        if parent is not None and parent.idea_id != idea.id:
            raise ConflictingState("a reply must be on the same idea as its parent")
        if parent is not None and parent.hidden:
            raise ConflictingState("the comment replied to is hidden")
        if parent is not None and parent.depth >= REPLY_DEPTH_MAX:
            raise InvalidValue(
                f"replies nest {REPLY_DEPTH_MAX} deep at most: reply to an earlier comment"
            )
        return cls(
            id=comment_id,
            idea_id=idea.id,
            jam_id=jam.id,
            parent_id=parent.id if parent else None,
            depth=parent.depth + 1 if parent else 0,
            author_id=author.id,
            author_segment=author.segment.value,
            body=require_text("body", body, max_len=BODY_MAX, multiline=True),
            timestamp=at,
        )

    @event("Posted")
    def __init__(
        self,
        idea_id: UUID,
        jam_id: UUID,
        parent_id: UUID | None,
        depth: int,
        author_id: UUID,
        author_segment: str,
        body: str,
        timestamp: datetime,
    ) -> None:
        self.idea_id = idea_id
        self.jam_id = jam_id
        self.parent_id = parent_id
        self.depth = depth
        self.author_id = author_id
        self.author_segment = author_segment
        self.body = body
        self.hidden = False

    def edit(self, *, body: str, by: Participant, idea: Idea, jam: Jam, at: datetime) -> None:
        if jam.id != self.jam_id:
            raise ConflictingState("the comment belongs to another jam")
        if idea.id != self.idea_id:
            raise ConflictingState("the comment is on another idea")
        if by.id != self.author_id:
            raise NotAuthor("only the author may edit a comment")
        by.require_active(self.jam_id)
        jam.require_open(at)
        # As for a hidden idea: an organizer hid it for what it said, and a restore is
        # judged on that text; rewritten unseen, it would come back saying something else.
        if self.hidden:
            raise CommentHidden(
                "the comment is hidden: it can be edited once an organizer restores it"
            )
        if idea.hidden:
            raise IdeaHidden("the idea is hidden: its comments can be edited once it is restored")
        new_body = require_text("body", body, max_len=BODY_MAX, multiline=True)
        if new_body == self.body:
            raise ConflictingState("the edit changes nothing")
        self._edited(body=new_body, timestamp=at)

    @event("Edited")
    def _edited(self, body: str, timestamp: datetime) -> None:
        self.body = body

    def hide(self, *, reason: str, by: Participant, at: datetime) -> None:
        by.require_organizer(self.jam_id)
        if self.hidden:
            raise ConflictingState("the comment is already hidden")
        self._hidden(
            reason=require_text("reason", reason, max_len=REASON_MAX), hidden_by=by.id, timestamp=at
        )

    @event("Hidden")
    def _hidden(self, reason: str, hidden_by: UUID, timestamp: datetime) -> None:
        self.hidden = True

    def restore(self, *, reason: str, by: Participant, at: datetime) -> None:
        by.require_organizer(self.jam_id)
        if not self.hidden:
            raise ConflictingState("the comment is not hidden")
        self._restored(
            reason=require_text("reason", reason, max_len=REASON_MAX),
            restored_by=by.id,
            timestamp=at,
        )

    @event("Restored")
    def _restored(self, reason: str, restored_by: UUID, timestamp: datetime) -> None:
        self.hidden = False
