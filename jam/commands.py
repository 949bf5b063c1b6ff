"""Commands: what someone asks the jam to do, as frozen msgspec structs.

`actor` is who asks (None only for the operator at the command line), `at` is
when (None: the application's clock), `client_key` makes a retry safe: the same
key from the same actor returns the first result and records nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

ClientKey = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Command(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    actor: UUID | None = None
    at: datetime | None = None
    client_key: ClientKey | None = None


class ForumSpec(msgspec.Struct, frozen=True):
    slug: str
    title: str
    description: str = ""


# Jams
class CreateJam(Command, frozen=True, kw_only=True):
    jam_id: UUID
    title: str
    description: str
    forums: tuple[ForumSpec, ...]
    starts_at: datetime
    ends_at: datetime
    # The source of a past conversation replayed by an import (at most 500 characters):
    # such a jam is exempt from the 31-day limit on its length.
    imported_from: str = ""


class AddForum(Command, frozen=True, kw_only=True):
    jam_id: UUID
    forum: ForumSpec


class RescheduleJam(Command, frozen=True, kw_only=True):
    jam_id: UUID
    starts_at: datetime
    ends_at: datetime


class ExtendJam(Command, frozen=True, kw_only=True):
    jam_id: UUID
    ends_at: datetime


class CloseJam(Command, frozen=True, kw_only=True):
    jam_id: UUID
    reason: str = ""


class SendAlert(Command, frozen=True, kw_only=True):
    jam_id: UUID
    message: str


class ClearAlert(Command, frozen=True, kw_only=True):
    jam_id: UUID


# Invites and participants
class IssueInvite(Command, frozen=True, kw_only=True):
    code: str
    role: str
    segment: str = "employee"
    jam_id: UUID | None = None
    uses: int = 1


class JoinJam(Command, frozen=True, kw_only=True):
    invite_code: str
    participant_id: UUID
    display_name: str


class MakeSignInKey(Command, frozen=True, kw_only=True):
    """The actor's own code for signing back in; it retires any code made before."""

    code: str


class EndSession(Command, frozen=True, kw_only=True):
    """The actor signs out the session their token names, for good."""

    session: str


class RenameParticipant(Command, frozen=True, kw_only=True):
    participant_id: UUID
    display_name: str


class BlockParticipant(Command, frozen=True, kw_only=True):
    participant_id: UUID
    reason: str


class UnblockParticipant(Command, frozen=True, kw_only=True):
    participant_id: UUID
    reason: str = ""


# Ideas
class PostIdea(Command, frozen=True, kw_only=True):
    jam_id: UUID
    idea_id: UUID
    forum: str
    title: str
    body: str


class EditIdea(Command, frozen=True, kw_only=True):
    """A new title, a new body or both (None keeps what the idea has)."""

    idea_id: UUID
    title: str | None = None
    body: str | None = None


class FlagIdea(Command, frozen=True, kw_only=True):
    idea_id: UUID
    reason: str


class HideIdea(Command, frozen=True, kw_only=True):
    idea_id: UUID
    reason: str


class RestoreIdea(Command, frozen=True, kw_only=True):
    idea_id: UUID
    reason: str


class DismissFlags(Command, frozen=True, kw_only=True):
    idea_id: UUID
    reason: str = ""


class MarkDuplicate(Command, frozen=True, kw_only=True):
    idea_id: UUID
    original_id: UUID


# Topic clusters: `ideas` are the cluster's ideas as the organizer saw them, so the
# decision can be respected by every later refresh from the log alone.
ClusterId = Annotated[str, msgspec.Meta(min_length=2, max_length=40)]
Members = Annotated[tuple[UUID, ...], msgspec.Meta(max_length=50_000)]


class RenameCluster(Command, frozen=True, kw_only=True):
    jam_id: UUID
    cluster_id: ClusterId
    label: str


class PinCluster(Command, frozen=True, kw_only=True):
    jam_id: UUID
    cluster_id: ClusterId
    ideas: Members


class UnpinCluster(Command, frozen=True, kw_only=True):
    jam_id: UUID
    cluster_id: ClusterId


class MergeClusters(Command, frozen=True, kw_only=True):
    jam_id: UUID
    cluster_id: ClusterId
    into: ClusterId
    ideas: Members


class SplitCluster(Command, frozen=True, kw_only=True):
    jam_id: UUID
    cluster_id: ClusterId
    ideas: Members


class UnmarkDuplicate(Command, frozen=True, kw_only=True):
    idea_id: UUID


class RecordDecision(Command, frozen=True, kw_only=True):
    idea_id: UUID
    decision: str
    note: str = ""


# Comments
class PostComment(Command, frozen=True, kw_only=True):
    comment_id: UUID
    idea_id: UUID
    body: str
    parent_id: UUID | None = None


class EditComment(Command, frozen=True, kw_only=True):
    comment_id: UUID
    body: str


class HideComment(Command, frozen=True, kw_only=True):
    comment_id: UUID
    reason: str


class RestoreComment(Command, frozen=True, kw_only=True):
    comment_id: UUID
    reason: str


# Votes
class CastVote(Command, frozen=True, kw_only=True):
    """Set the actor's vote on an idea: +1, -1, or 0 to withdraw."""

    idea_id: UUID
    value: int


class PassIdea(Command, frozen=True, kw_only=True):
    """Record that the actor saw an idea and took no side (a Pol.is pass): never support."""

    idea_id: UUID


class Done(msgspec.Struct, frozen=True):
    """A handled command: the log position of its last event, and the id it concerns."""

    position: int
    id: UUID | None = None


AnyCommand = (
    CreateJam
    | AddForum
    | RescheduleJam
    | ExtendJam
    | CloseJam
    | SendAlert
    | ClearAlert
    | IssueInvite
    | JoinJam
    | MakeSignInKey
    | RenameParticipant
    | BlockParticipant
    | UnblockParticipant
    | PostIdea
    | EditIdea
    | FlagIdea
    | HideIdea
    | RestoreIdea
    | DismissFlags
    | MarkDuplicate
    | UnmarkDuplicate
    | RecordDecision
    | RenameCluster
    | PinCluster
    | UnpinCluster
    | MergeClusters
    | SplitCluster
    | PostComment
    | EditComment
    | HideComment
    | RestoreComment
    | CastVote
    | PassIdea
)
