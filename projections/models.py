"""What the read side returns: msgspec structs, ready to encode at the edges."""

from __future__ import annotations

import msgspec


class IdeaSummary(msgspec.Struct, frozen=True):
    id: str
    jam_id: str
    forum: str
    title: str
    author_id: str
    author_name: str
    author_segment: str
    posted_at: str
    up: int
    down: int
    comments: int
    score: float
    hidden: bool
    duplicate_of: str | None
    decision: str | None


class SegmentTally(msgspec.Struct, frozen=True):
    segment: str
    up: int
    down: int


class CommentNode(msgspec.Struct):
    id: str
    author_id: str
    author_name: str
    author_segment: str
    body: str
    posted_at: str
    edited_at: str | None
    hidden: bool
    replies: list[CommentNode] = msgspec.field(default_factory=list)
    hidden_reason: str = ""  # why it was hidden: for organizers only


class IdeaLink(msgspec.Struct, frozen=True):
    id: str
    title: str


class Thread(msgspec.Struct, frozen=True):
    idea: IdeaSummary
    body: str
    edited_at: str | None
    hidden_reason: str
    decision_note: str
    segments: list[SegmentTally]
    comments: list[CommentNode]
    duplicates: list[IdeaLink] = []  # ideas marked as duplicates of this one (not hidden)
    original_hidden: bool = False  # the idea this one duplicates was hidden since
    # A thread as it was: the log position it stands for (as of a time, how far the log
    # had been written by then); None for the thread as it is now.
    position: int | None = None


class MinuteActivity(msgspec.Struct, frozen=True):
    minute: str
    ideas: int
    comments: int
    votes: int
    joins: int


class SegmentTotals(msgspec.Struct, frozen=True):
    segment: str
    participants: int
    ideas: int
    comments: int
    votes: int


class ForumTotals(msgspec.Struct, frozen=True):
    forum: str
    ideas: int
    comments: int
    votes: int


class JamCentral(msgspec.Struct, frozen=True):
    jam_id: str
    position: int
    participants: int
    active_last_5_minutes: int
    ideas_per_minute: float
    comments_per_minute: float
    votes_per_minute: float
    segments: list[SegmentTotals]
    forums: list[ForumTotals]
    minutes: list[MinuteActivity]
    # The jam's own organizers and leaders who joined it: not among `participants`, nor
    # among the segments' people (their ideas, comments and votes do count in those).
    staff: int = 0
    # When the recent figures (the four minutes before this one and this one so far)
    # change with time alone: the next minute, or None when there is nothing recent to age.
    figures_change_at: str | None = None


class FlaggedIdea(msgspec.Struct, frozen=True):
    idea_id: str
    title: str
    flags: int
    reasons: list[str]
    hidden: bool


class ModerationAction(msgspec.Struct, frozen=True):
    position: int
    target_kind: str
    target_id: str
    action: str
    reason: str
    actor_id: str | None
    at: str


class ModerationQueue(msgspec.Struct, frozen=True):
    flagged: list[FlaggedIdea]
    actions: list[ModerationAction]


class Activity(msgspec.Struct, frozen=True):
    participant_id: str
    display_name: str
    segment: str
    role: str
    ideas: list[IdeaSummary]
    comment_ids: list[str]
    votes: dict[str, int]
    hidden_comment_ids: list[str] = []  # of comment_ids, those an organizer hid


class Touched(msgspec.Struct, frozen=True):
    """An idea someone took part in: how many comments they wrote there, or their vote."""

    id: str
    title: str
    hidden: bool
    count: int


class LiveUpdate(msgspec.Struct, frozen=True):
    position: int
    jam_id: str
    kind: str
    item_id: str
    idea_id: str | None


class Forum(msgspec.Struct, frozen=True):
    slug: str
    title: str
    description: str = ""


class JamInfo(msgspec.Struct, frozen=True):
    jam_id: str
    title: str
    description: str
    forums: list[Forum]
    starts_at: str
    ends_at: str
    closed_at: str | None
    alert: str = ""
    close_reason: str = ""  # the organizer's, when closed early
