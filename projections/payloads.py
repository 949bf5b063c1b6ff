"""The fields of each event the read models use, decoded straight into structs.

Decoding into a struct skips the fields no view needs and builds no dicts, which
is most of the cost of reading a payload. Ids are typed `Any`: the application's
views decoder turns them into canonical text, as the read models store them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

Id = Any  # an id as text (None where the event allows none)


class Payload(msgspec.Struct, gc=False):  # plain values only: nothing to collect
    timestamp: datetime


class JamCreated(Payload):
    title: str
    description: str
    forums: list[Any]
    starts_at: datetime
    ends_at: datetime


class JamForumAdded(Payload):
    forum: Any


class JamRescheduled(Payload):
    starts_at: datetime
    ends_at: datetime


class JamExtended(Payload):
    ends_at: datetime


class JamClosedEarly(Payload):
    reason: str


class JamAlertSent(Payload):
    message: str


class ParticipantJoined(Payload):
    jam_id: Id
    display_name: str
    segment: str
    role: str


class ParticipantRenamed(Payload):
    display_name: str


class SessionEnded(Payload):  # read by every web worker (ui.sessions), not projected
    session: str


class ParticipantBlocked(Payload):
    reason: str
    blocked_by: Id


class ParticipantUnblocked(Payload):
    reason: str
    unblocked_by: Id


class IdeaPosted(Payload):
    jam_id: Id
    forum: str
    author_id: Id
    author_segment: str
    title: str
    body: str


class IdeaEdited(Payload):
    title: str
    body: str


class IdeaFlagged(Payload):
    flagged_by: Id
    reason: str


class IdeaHidden(Payload):
    reason: str
    hidden_by: Id


class IdeaRestored(Payload):
    reason: str
    restored_by: Id


class IdeaFlagsDismissed(Payload):
    reason: str
    dismissed_by: Id


class IdeaMarkedDuplicate(Payload):
    original_id: Id
    marked_by: Id


class IdeaUnmarkedDuplicate(Payload):
    unmarked_by: Id


class IdeaDecided(Payload):
    decision: str
    note: str


class CommentPosted(Payload):
    idea_id: Id
    jam_id: Id
    parent_id: Id
    depth: int
    author_id: Id
    author_segment: str
    body: str


class CommentEdited(Payload):
    body: str


class CommentHidden(Payload):
    reason: str
    hidden_by: Id


class CommentRestored(Payload):
    reason: str
    restored_by: Id


class VoteCast(Payload):
    idea_id: Id
    participant_id: Id
    jam_id: Id
    segment: str
    value: int


class VoteChanged(Payload):
    value: int
