"""Command handlers: load the aggregates a command needs and let them decide.

A handler returns the aggregates it changed (with their pending events) and
the id the command concerns. It reads but never writes: saving is the
application's job, so the same handler serves the one-by-one and the batched
paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import Comment, Forum, Idea, Invite, Jam, Participant, SignInKey, Vote
from domain.errors import ConflictingState, InvalidValue
from domain.topics import TopicBoard, topic_board_id
from domain.values import invite_id, sign_in_key_id, vote_id
from domain.vote import check_can_vote
from jam import commands as c
from jam.errors import NotSignedIn

A = TypeVar("A", bound=Aggregate)
C = TypeVar("C", bound=c.Command)


class Loader(Protocol):
    def load(self, kind: type[A], ident: UUID) -> A:
        """A private copy, for an aggregate the command will change."""
        ...

    def read(self, kind: type[A], ident: UUID) -> A:
        """A shared, current copy, for an aggregate the command only consults."""
        ...

    def find(self, kind: type[A], ident: UUID) -> A | None: ...


@dataclass
class Decision:
    changed: list[Aggregate] = field(default_factory=list)
    result_id: UUID | None = None


Handler = Callable[[Any, Loader, datetime], Decision]
HANDLERS: dict[type[c.Command], Handler] = {}


def handles(kind: type[C]) -> Callable[[Callable[[C, Loader, datetime], Decision]], Any]:
    def register(func: Callable[[C, Loader, datetime], Decision]) -> Any:
        HANDLERS[kind] = func
        return func

    return register


def actor(cmd: c.Command, load: Loader) -> Participant:
    if cmd.actor is None:
        raise NotSignedIn("this command needs a signed-in participant")
    return load.read(Participant, cmd.actor)


# Jams
@handles(c.CreateJam)
def create_jam(cmd: c.CreateJam, load: Loader, at: datetime) -> Decision:
    if load.find(Jam, cmd.jam_id) is not None:
        raise ConflictingState("a jam with this id already exists")
    jam = Jam.create(
        jam_id=cmd.jam_id,
        title=cmd.title,
        description=cmd.description,
        forums=[Forum.checked(f.slug, f.title, f.description) for f in cmd.forums],
        starts_at=cmd.starts_at,
        ends_at=cmd.ends_at,
        by=actor(cmd, load),
        at=at,
        imported_from=cmd.imported_from,
    )
    return Decision([jam], jam.id)


@handles(c.AddForum)
def add_forum(cmd: c.AddForum, load: Loader, at: datetime) -> Decision:
    jam = load.load(Jam, cmd.jam_id)
    forum = Forum.checked(cmd.forum.slug, cmd.forum.title, cmd.forum.description)
    jam.add_forum(forum, by=actor(cmd, load), at=at)
    return Decision([jam], jam.id)


@handles(c.RescheduleJam)
def reschedule_jam(cmd: c.RescheduleJam, load: Loader, at: datetime) -> Decision:
    jam = load.load(Jam, cmd.jam_id)
    jam.reschedule(starts_at=cmd.starts_at, ends_at=cmd.ends_at, by=actor(cmd, load), at=at)
    return Decision([jam], jam.id)


@handles(c.ExtendJam)
def extend_jam(cmd: c.ExtendJam, load: Loader, at: datetime) -> Decision:
    jam = load.load(Jam, cmd.jam_id)
    jam.extend(ends_at=cmd.ends_at, by=actor(cmd, load), at=at)
    return Decision([jam], jam.id)


@handles(c.CloseJam)
def close_jam(cmd: c.CloseJam, load: Loader, at: datetime) -> Decision:
    jam = load.load(Jam, cmd.jam_id)
    jam.close_early(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([jam], jam.id)


@handles(c.SendAlert)
def send_alert(cmd: c.SendAlert, load: Loader, at: datetime) -> Decision:
    jam = load.load(Jam, cmd.jam_id)
    jam.send_alert(message=cmd.message, by=actor(cmd, load), at=at)
    return Decision([jam], jam.id)


@handles(c.ClearAlert)
def clear_alert(cmd: c.ClearAlert, load: Loader, at: datetime) -> Decision:
    jam = load.load(Jam, cmd.jam_id)
    jam.clear_alert(by=actor(cmd, load), at=at)
    return Decision([jam], jam.id)


# Invites and participants
@handles(c.IssueInvite)
def issue_invite(cmd: c.IssueInvite, load: Loader, at: datetime) -> Decision:
    by = actor(cmd, load) if cmd.actor is not None else None
    if cmd.jam_id is not None:
        load.read(Jam, cmd.jam_id)
    if load.find(Invite, invite_id(cmd.code)) is not None:
        raise ConflictingState("an invite with this code already exists")
    invite = Invite.issue(
        code=cmd.code,
        role=cmd.role,
        segment=cmd.segment,
        jam_id=cmd.jam_id,
        uses=cmd.uses,
        by=by,
        at=at,
    )
    return Decision([invite], invite.id)


@handles(c.JoinJam)
def join_jam(cmd: c.JoinJam, load: Loader, at: datetime) -> Decision:
    invite = load.find(Invite, invite_id(cmd.invite_code))
    if invite is None:
        raise InvalidValue("this invite code is not valid")
    if load.find(Participant, cmd.participant_id) is not None:
        raise ConflictingState("a participant with this id already exists")
    participant = Participant.join(
        participant_id=cmd.participant_id,
        invite=invite,
        display_name=cmd.display_name,
        at=at,
    )
    return Decision([invite, participant], participant.id)


@handles(c.MakeSignInKey)
def make_sign_in_key(cmd: c.MakeSignInKey, load: Loader, at: datetime) -> Decision:
    by = actor(cmd, load)
    if load.find(SignInKey, sign_in_key_id(cmd.code)) is not None:
        raise ConflictingState("a sign-in key with this code already exists")
    holder = load.load(Participant, by.id)
    key = SignInKey.make(code=cmd.code, holder=holder, by=by, at=at)
    return Decision([holder, key], key.id)


@handles(c.RenameParticipant)
def rename_participant(cmd: c.RenameParticipant, load: Loader, at: datetime) -> Decision:
    target = load.load(Participant, cmd.participant_id)
    target.rename(display_name=cmd.display_name, by=actor(cmd, load), at=at)
    return Decision([target], target.id)


@handles(c.EndSession)
def end_session(cmd: c.EndSession, load: Loader, at: datetime) -> Decision:
    if cmd.actor is None:
        raise NotSignedIn("only a signed-in participant can sign out")
    person = load.load(Participant, cmd.actor)
    person.end_session(session=cmd.session, at=at)
    return Decision([person], person.id)


@handles(c.BlockParticipant)
def block_participant(cmd: c.BlockParticipant, load: Loader, at: datetime) -> Decision:
    target = load.load(Participant, cmd.participant_id)
    target.block(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([target], target.id)


@handles(c.UnblockParticipant)
def unblock_participant(cmd: c.UnblockParticipant, load: Loader, at: datetime) -> Decision:
    target = load.load(Participant, cmd.participant_id)
    target.unblock(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([target], target.id)


# Ideas
@handles(c.PostIdea)
def post_idea(cmd: c.PostIdea, load: Loader, at: datetime) -> Decision:
    if load.find(Idea, cmd.idea_id) is not None:
        raise ConflictingState("an idea with this id already exists")
    idea = Idea.post(
        idea_id=cmd.idea_id,
        jam=load.read(Jam, cmd.jam_id),
        author=actor(cmd, load),
        forum=cmd.forum,
        title=cmd.title,
        body=cmd.body,
        at=at,
    )
    return Decision([idea], idea.id)


@handles(c.EditIdea)
def edit_idea(cmd: c.EditIdea, load: Loader, at: datetime) -> Decision:
    idea = load.load(Idea, cmd.idea_id)
    by = actor(cmd, load)
    idea.edit(title=cmd.title, body=cmd.body, by=by, jam=load.read(Jam, idea.jam_id), at=at)
    return Decision([idea], idea.id)


@handles(c.FlagIdea)
def flag_idea(cmd: c.FlagIdea, load: Loader, at: datetime) -> Decision:
    idea = load.load(Idea, cmd.idea_id)
    idea.flag(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([idea], idea.id)


@handles(c.HideIdea)
def hide_idea(cmd: c.HideIdea, load: Loader, at: datetime) -> Decision:
    idea = load.load(Idea, cmd.idea_id)
    idea.hide(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([idea], idea.id)


@handles(c.RestoreIdea)
def restore_idea(cmd: c.RestoreIdea, load: Loader, at: datetime) -> Decision:
    idea = load.load(Idea, cmd.idea_id)
    idea.restore(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([idea], idea.id)


@handles(c.DismissFlags)
def dismiss_flags(cmd: c.DismissFlags, load: Loader, at: datetime) -> Decision:
    idea = load.load(Idea, cmd.idea_id)
    idea.dismiss_flags(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([idea], idea.id)


@handles(c.MarkDuplicate)
def mark_duplicate(cmd: c.MarkDuplicate, load: Loader, at: datetime) -> Decision:
    idea = load.load(Idea, cmd.idea_id)
    original = load.load(Idea, cmd.original_id)
    # A duplicate of a duplicate is one of its original: the link goes to the root (a
    # chain logged before the rule may be longer; a few steps cover it).
    for _ in range(10):
        if original.duplicate_of is None or original.duplicate_of == idea.id:
            break
        original = load.load(Idea, original.duplicate_of)
    if original.duplicate_of == idea.id:
        raise ConflictingState("that idea is already marked as a duplicate of this one")
    # Moved from another original: that one forgets it, in the same decision.
    moved = idea.duplicate_of is not None and idea.duplicate_of != original.id
    previous = load.load(Idea, idea.duplicate_of) if moved else None  # type: ignore[arg-type]
    idea.mark_duplicate(original=original, by=actor(cmd, load), at=at, previous=previous)
    return Decision([idea, original, *([previous] if previous else [])], idea.id)


@handles(c.UnmarkDuplicate)
def unmark_duplicate(cmd: c.UnmarkDuplicate, load: Loader, at: datetime) -> Decision:
    idea = load.load(Idea, cmd.idea_id)
    original = load.load(Idea, idea.duplicate_of) if idea.duplicate_of else None
    idea.unmark_duplicate(by=actor(cmd, load), at=at, original=original)
    return Decision([idea, *([original] if original else [])], idea.id)


# Topic clusters
def _board(
    cmd: c.RenameCluster | c.PinCluster | c.UnpinCluster | c.MergeClusters | c.SplitCluster,
    load: Loader,
    at: datetime,
) -> tuple[TopicBoard, Participant]:
    """The jam's topic board, opened by the organizer's first decision about a cluster."""
    by = actor(cmd, load)
    load.read(Jam, cmd.jam_id)
    board = load.find(TopicBoard, topic_board_id(cmd.jam_id))
    if board is None:
        board = TopicBoard.open(jam_id=cmd.jam_id, by=by, at=at)
    else:
        board = load.load(TopicBoard, board.id)
    return board, by


@handles(c.RenameCluster)
def rename_cluster(cmd: c.RenameCluster, load: Loader, at: datetime) -> Decision:
    board, by = _board(cmd, load, at)
    board.rename(cluster_id=cmd.cluster_id, label=cmd.label, by=by, at=at)
    return Decision([board], board.id)


@handles(c.PinCluster)
def pin_cluster(cmd: c.PinCluster, load: Loader, at: datetime) -> Decision:
    board, by = _board(cmd, load, at)
    board.pin(cluster_id=cmd.cluster_id, ideas=cmd.ideas, by=by, at=at)
    return Decision([board], board.id)


@handles(c.UnpinCluster)
def unpin_cluster(cmd: c.UnpinCluster, load: Loader, at: datetime) -> Decision:
    board, by = _board(cmd, load, at)
    board.unpin(cluster_id=cmd.cluster_id, by=by, at=at)
    return Decision([board], board.id)


@handles(c.MergeClusters)
def merge_clusters(cmd: c.MergeClusters, load: Loader, at: datetime) -> Decision:
    board, by = _board(cmd, load, at)
    board.merge(cluster_id=cmd.cluster_id, into=cmd.into, ideas=cmd.ideas, by=by, at=at)
    return Decision([board], board.id)


@handles(c.SplitCluster)
def split_cluster(cmd: c.SplitCluster, load: Loader, at: datetime) -> Decision:
    board, by = _board(cmd, load, at)
    board.split(cluster_id=cmd.cluster_id, ideas=cmd.ideas, by=by, at=at)
    return Decision([board], board.id)


@handles(c.RecordDecision)
def record_decision(cmd: c.RecordDecision, load: Loader, at: datetime) -> Decision:
    idea = load.load(Idea, cmd.idea_id)
    idea.decide(decision=cmd.decision, note=cmd.note, by=actor(cmd, load), at=at)
    return Decision([idea], idea.id)


# Comments
@handles(c.PostComment)
def post_comment(cmd: c.PostComment, load: Loader, at: datetime) -> Decision:
    if load.find(Comment, cmd.comment_id) is not None:
        raise ConflictingState("a comment with this id already exists")
    idea = load.read(Idea, cmd.idea_id)
    comment = Comment.post(
        comment_id=cmd.comment_id,
        idea=idea,
        jam=load.read(Jam, idea.jam_id),
        author=actor(cmd, load),
        parent=load.read(Comment, cmd.parent_id) if cmd.parent_id else None,
        body=cmd.body,
        at=at,
    )
    return Decision([comment], comment.id)


@handles(c.EditComment)
def edit_comment(cmd: c.EditComment, load: Loader, at: datetime) -> Decision:
    comment = load.load(Comment, cmd.comment_id)
    by = actor(cmd, load)
    # The idea is consulted too: a comment on a hidden idea is not edited (Comment.edit).
    idea = load.read(Idea, comment.idea_id)
    comment.edit(body=cmd.body, by=by, idea=idea, jam=load.read(Jam, comment.jam_id), at=at)
    return Decision([comment], comment.id)


@handles(c.HideComment)
def hide_comment(cmd: c.HideComment, load: Loader, at: datetime) -> Decision:
    comment = load.load(Comment, cmd.comment_id)
    comment.hide(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([comment], comment.id)


@handles(c.RestoreComment)
def restore_comment(cmd: c.RestoreComment, load: Loader, at: datetime) -> Decision:
    comment = load.load(Comment, cmd.comment_id)
    comment.restore(reason=cmd.reason, by=actor(cmd, load), at=at)
    return Decision([comment], comment.id)


# Votes
@handles(c.CastVote)
def cast_vote(cmd: c.CastVote, load: Loader, at: datetime) -> Decision:
    voter = actor(cmd, load)
    idea = load.read(Idea, cmd.idea_id)
    jam = load.read(Jam, idea.jam_id)
    vote = load.find(Vote, vote_id(idea.id, voter.id))
    if cmd.value not in (1, -1, 0):
        raise InvalidValue("a vote is +1, -1, or 0 to withdraw")
    # Setting a vote is idempotent: asking for the value it already has changes nothing.
    # A pass also has value 0, but withdrawing it is a change: it is no longer "seen".
    if (vote.value if vote else 0) == cmd.value and not (vote and vote.passed):
        check_can_vote(idea, jam, voter, at, withdrawing=cmd.value == 0)
        return Decision([], vote.id if vote else vote_id(idea.id, voter.id))
    if vote is None:
        vote = Vote.cast(idea=idea, jam=jam, voter=voter, value=cmd.value, at=at)
    elif cmd.value == 0:
        vote.withdraw(idea=idea, jam=jam, voter=voter, at=at)
    else:
        vote.change(value=cmd.value, idea=idea, jam=jam, voter=voter, at=at)
    return Decision([vote], vote.id)


@handles(c.PassIdea)
def pass_idea(cmd: c.PassIdea, load: Loader, at: datetime) -> Decision:
    voter = actor(cmd, load)
    idea = load.read(Idea, cmd.idea_id)
    jam = load.read(Jam, idea.jam_id)
    vote = load.find(Vote, vote_id(idea.id, voter.id))
    if vote is None:
        vote = Vote.pass_on(idea=idea, jam=jam, voter=voter, at=at)
    elif vote.passed:  # idempotent, like setting a vote to the value it has
        check_can_vote(idea, jam, voter, at)
        return Decision([], vote.id)
    else:
        vote.pass_(idea=idea, jam=jam, voter=voter, at=at)
    return Decision([vote], vote.id)


def created_ids(cmd: c.Command) -> list[UUID]:
    """Ids of aggregates a command may create: usually absent, so worth checking in bulk."""
    if isinstance(cmd, c.CastVote | c.PassIdea):
        return [vote_id(cmd.idea_id, cmd.actor)] if cmd.actor else []
    if isinstance(cmd, c.PostIdea):
        return [cmd.idea_id]
    if isinstance(cmd, c.PostComment):
        return [cmd.comment_id]
    if isinstance(cmd, c.JoinJam):
        return [cmd.participant_id]
    if isinstance(cmd, c.IssueInvite):
        return [invite_id(cmd.code)]
    if isinstance(cmd, c.MakeSignInKey):
        return [sign_in_key_id(cmd.code)]
    if isinstance(cmd, c.CreateJam):
        return [cmd.jam_id]
    return []
