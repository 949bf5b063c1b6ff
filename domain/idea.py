"""Ideas: posted in a forum, discussed, voted on, moderated and decided."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import ConflictingState, IdeaHidden, InvalidValue, NotAuthor
from domain.text import BODY_MAX, NOTE_MAX, REASON_MAX, TITLE_MAX, require_text
from domain.values import Decision, parse_enum

if TYPE_CHECKING:
    from domain.jam import Jam
    from domain.participant import Participant


class Idea(Aggregate):
    id: UUID

    @classmethod
    def post(
        cls,
        *,
        idea_id: UUID,
        jam: Jam,
        author: Participant,
        forum: str,
        title: str,
        body: str,
        at: datetime,
    ) -> Idea:
        author.require_active(jam.id)
        jam.require_open(at)
        jam.require_forum(forum)
        return cls(
            id=idea_id,
            jam_id=jam.id,
            forum=forum,
            author_id=author.id,
            author_segment=author.segment.value,
            title=require_text("title", title, max_len=TITLE_MAX),
            body=require_text("body", body, max_len=BODY_MAX, multiline=True),
            timestamp=at,
        )

    @event("Posted")
    def __init__(
        self,
        jam_id: UUID,
        forum: str,
        author_id: UUID,
        author_segment: str,
        title: str,
        body: str,
        timestamp: datetime,
    ) -> None:
        self.jam_id = jam_id
        self.forum = forum
        self.author_id = author_id
        self.author_segment = author_segment
        self.title = title
        self.body = body
        self.hidden = False
        self.flagged_by: set[UUID] = set()  # since an organizer last reviewed the idea
        self.open_flags = 0  # flags since an organizer last reviewed the idea
        self.duplicate_of: UUID | None = None
        self.duplicates: set[UUID] = set()  # ideas marked as duplicates of this one
        self.decision: str | None = None
        self._last_decision: tuple[str, str, UUID] | None = None

    def require_in(self, jam: Jam) -> None:
        if jam.id != self.jam_id:
            raise ConflictingState("the idea belongs to another jam")

    def edit(
        self, *, title: str | None, body: str | None, by: Participant, jam: Jam, at: datetime
    ) -> None:
        """A new title, body or both; None keeps the idea's own."""
        self.require_in(jam)
        if by.id != self.author_id:
            raise NotAuthor("only the author may edit an idea")
        by.require_active(self.jam_id)
        jam.require_open(at)
        if self.hidden:  # its author cannot read it either: changed unseen, it would stay so
            raise IdeaHidden("the idea is hidden: it can be edited once an organizer restores it")
        if title is None and body is None:
            raise InvalidValue("an edit needs a new title, a new body or both")
        new_title = self.title if title is None else require_text("title", title, max_len=TITLE_MAX)
        new_body = (
            self.body
            if body is None
            else require_text("body", body, max_len=BODY_MAX, multiline=True)
        )
        if (new_title, new_body) == (self.title, self.body):
            raise ConflictingState("the edit changes nothing")
        self._edited(title=new_title, body=new_body, timestamp=at)

    @event("Edited")
    def _edited(self, title: str, body: str, timestamp: datetime) -> None:
        self.title = title
        self.body = body

    def flag(self, *, reason: str, by: Participant, at: datetime) -> None:
        by.require_active(self.jam_id)
        if self.hidden:  # already taken out of view: there is nothing left to report
            raise IdeaHidden("the idea is hidden")
        if by.id == self.author_id:  # an author who regrets an idea edits it
            raise ConflictingState("you cannot flag your own idea")
        if by.id in self.flagged_by:
            raise ConflictingState("you have flagged this idea already; organizers will look")
        self._flagged(
            flagged_by=by.id,
            reason=require_text("reason", reason, max_len=REASON_MAX),
            timestamp=at,
        )

    @event("Flagged")
    def _flagged(self, flagged_by: UUID, reason: str, timestamp: datetime) -> None:
        self.flagged_by.add(flagged_by)
        self.open_flags += 1

    def dismiss_flags(self, *, reason: str, by: Participant, at: datetime) -> None:
        """An organizer reviewed the flags and keeps the idea as it is."""
        by.require_organizer(self.jam_id)
        if self.hidden:
            raise ConflictingState("the idea is hidden: restore it instead")
        if not self.open_flags:
            raise ConflictingState("the idea has no flags to dismiss")
        self._flags_dismissed(
            reason=require_text("reason", reason, max_len=REASON_MAX, min_len=0),
            dismissed_by=by.id,
            timestamp=at,
        )

    @event("FlagsDismissed")
    def _flags_dismissed(self, reason: str, dismissed_by: UUID, timestamp: datetime) -> None:
        # Reviewed: whoever flagged it may flag it again (it may have been edited since).
        self.open_flags = 0
        self.flagged_by = set()

    def hide(self, *, reason: str, by: Participant, at: datetime) -> None:
        by.require_organizer(self.jam_id)
        if self.hidden:
            raise ConflictingState("the idea is already hidden")
        self._hidden(
            reason=require_text("reason", reason, max_len=REASON_MAX), hidden_by=by.id, timestamp=at
        )

    @event("Hidden")
    def _hidden(self, reason: str, hidden_by: UUID, timestamp: datetime) -> None:
        self.hidden = True

    def restore(self, *, reason: str, by: Participant, at: datetime) -> None:
        by.require_organizer(self.jam_id)
        if not self.hidden:
            raise ConflictingState("the idea is not hidden")
        self._restored(
            reason=require_text("reason", reason, max_len=REASON_MAX),
            restored_by=by.id,
            timestamp=at,
        )

    @event("Restored")
    def _restored(self, reason: str, restored_by: UUID, timestamp: datetime) -> None:
        self.hidden = False
        self.open_flags = 0  # restoring after a review deals with the flags too
        self.flagged_by = set()

    def mark_duplicate(
        self, *, original: Idea, by: Participant, at: datetime, previous: Idea | None = None
    ) -> None:
        """Link this idea to `original` (a root idea). `previous`: the original it was a
        duplicate of until now, if any, which forgets it (a link moved, not added).
        Linking it where it is linked already records nothing: setting a link is idempotent."""
        by.require_organizer(self.jam_id)
        if self.duplicate_of == original.id:
            return
        if original.id == self.id:
            raise ConflictingState("an idea cannot duplicate itself")
        if original.jam_id != self.jam_id:
            raise ConflictingState("the original idea belongs to another jam")
        # Links point at the root idea, so votes are never counted through a chain.
        if original.duplicate_of is not None:
            raise ConflictingState("the original is itself marked as a duplicate")
        if self.duplicates:
            raise ConflictingState(
                f"this idea is the original of {len(self.duplicates)} other idea(s):"
                " mark the other idea a duplicate of this one instead"
            )
        if previous is not None and previous.id != self.duplicate_of:
            raise ConflictingState("the idea is marked as a duplicate of another idea")
        if self.decision is not None:
            # A duplicate leaves the shortlist, and the leaders' decision on it with it.
            raise ConflictingState(
                f"the leaders decided on this idea ({self.decision}): mark the other idea"
                " a duplicate of this one instead"
            )
        self._marked_duplicate(original_id=original.id, marked_by=by.id, timestamp=at)
        original._duplicate_linked(duplicate_id=self.id, timestamp=at)
        self._forgotten_by(previous, at)

    @event("MarkedDuplicate")
    def _marked_duplicate(self, original_id: UUID, marked_by: UUID, timestamp: datetime) -> None:
        self.duplicate_of = original_id

    @event("DuplicateLinked")
    def _duplicate_linked(self, duplicate_id: UUID, timestamp: datetime) -> None:
        self.duplicates.add(duplicate_id)

    @event("DuplicateUnlinked")
    def _duplicate_unlinked(self, duplicate_id: UUID, timestamp: datetime) -> None:
        self.duplicates.discard(duplicate_id)

    def unmark_duplicate(
        self, *, by: Participant, at: datetime, original: Idea | None = None
    ) -> None:
        """`original`, the idea it was marked a duplicate of, forgets it too. An idea with
        no link is left as it is: removing a link is idempotent."""
        by.require_organizer(self.jam_id)
        if self.duplicate_of is None:
            return
        if original is not None and original.id != self.duplicate_of:
            raise ConflictingState("the idea is marked as a duplicate of another idea")
        self._unmarked_duplicate(unmarked_by=by.id, timestamp=at)
        self._forgotten_by(original, at)

    def _forgotten_by(self, original: Idea | None, at: datetime) -> None:
        """The original this idea no longer duplicates forgets it; a link made before
        originals kept their duplicates is not in its list, and nothing is recorded."""
        if original is not None and self.id in original.duplicates:
            original._duplicate_unlinked(duplicate_id=self.id, timestamp=at)

    @event("UnmarkedDuplicate")
    def _unmarked_duplicate(self, unmarked_by: UUID, timestamp: datetime) -> None:
        self.duplicate_of = None

    def decide(self, *, decision: str, note: str, by: Participant, at: datetime) -> None:
        by.require_leader(self.jam_id)
        if self.hidden:  # moderated out of the jam: an organizer restores it first
            raise IdeaHidden("the idea is hidden: it can be decided on once restored")
        checked = parse_enum(Decision, decision, "decision")
        note = require_text("note", note, max_len=NOTE_MAX, min_len=0, multiline=True)
        if (checked.value, note, by.id) == self._last_decision:
            return  # the same leader saying the same again (a resent form): nothing new
        self._decision_recorded(decision=checked.value, note=note, decided_by=by.id, timestamp=at)

    @event("DecisionRecorded")
    def _decision_recorded(
        self, decision: str, note: str, decided_by: UUID, timestamp: datetime
    ) -> None:
        self.decision = decision
        self._last_decision = (decision, note, decided_by)
