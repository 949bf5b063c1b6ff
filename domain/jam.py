"""The Jam: a timed session with themed forums."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import ConflictingState, InvalidSchedule, InvalidValue, JamNotOpen, UnknownForum
from domain.text import BODY_MAX, REASON_MAX, TITLE_MAX, quoted, require_text
from domain.values import JamState, require_aware, require_slug

if TYPE_CHECKING:
    from domain.participant import Participant

MAX_FORUMS = 24
MAX_DURATION = timedelta(days=31)


@dataclass(frozen=True)
class Forum:
    slug: str
    title: str
    description: str

    @classmethod
    def checked(cls, slug: str, title: str, description: str = "") -> Forum:
        return cls(
            slug=require_slug(slug),
            title=require_text("forum title", title, max_len=TITLE_MAX),
            description=require_text(
                "forum description", description, max_len=BODY_MAX, min_len=0, multiline=True
            ),
        )

    def as_dict(self) -> dict[str, str]:
        return {"slug": self.slug, "title": self.title, "description": self.description}


def _check_window(starts_at: datetime, ends_at: datetime, *, imported: bool = False) -> None:
    require_aware("starts_at", starts_at)
    require_aware("ends_at", ends_at)
    if ends_at <= starts_at:
        raise InvalidSchedule("a jam must end after it starts")
    # An imported conversation happened already: its window is however long it ran.
    if ends_at - starts_at > MAX_DURATION and not imported:
        raise InvalidSchedule(f"a jam may last at most {MAX_DURATION.days} days")


class Jam(Aggregate):
    id: UUID

    @classmethod
    def create(
        cls,
        *,
        jam_id: UUID,
        title: str,
        description: str,
        forums: Sequence[Forum],
        starts_at: datetime,
        ends_at: datetime,
        by: Participant,
        at: datetime,
        imported_from: str = "",
    ) -> Jam:
        """`imported_from` names the past conversation an import replays (e.g. its URL)."""
        by.require_organizer(None)
        _check_window(starts_at, ends_at, imported=bool(imported_from))
        if ends_at <= at and not imported_from:  # no one could ever post in it
            raise InvalidSchedule("a new jam must end in the future")
        if not 1 <= len(forums) <= MAX_FORUMS:
            raise InvalidValue(f"a jam needs 1 to {MAX_FORUMS} forums")
        slugs = [f.slug for f in forums]
        if len(set(slugs)) != len(slugs):
            raise InvalidValue("forum slugs must be unique within a jam")
        titles = [f.title.casefold() for f in forums]
        if len(set(titles)) != len(titles):  # a forum chooser listing one title twice
            raise InvalidValue("forum titles must be unique within a jam")
        return cls(
            id=jam_id,
            title=require_text("title", title, max_len=TITLE_MAX),
            description=require_text(
                "description", description, max_len=BODY_MAX, min_len=0, multiline=True
            ),
            forums=[f.as_dict() for f in forums],
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=by.id,
            timestamp=at,
            imported_from=require_text("source", imported_from, max_len=REASON_MAX, min_len=0),
        )

    @event("Created")
    def __init__(
        self,
        title: str,
        description: str,
        forums: list[dict[str, str]],
        starts_at: datetime,
        ends_at: datetime,
        created_by: UUID,
        timestamp: datetime,
        imported_from: str = "",
    ) -> None:
        self.title = title
        self.imported_from = imported_from
        self.description = description
        self.forums: dict[str, Forum] = {f["slug"]: Forum(**f) for f in forums}
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.created_by = created_by
        self.closed_early_at: datetime | None = None
        self.close_reason = ""
        self.alert = ""

    # State is derived from the schedule and the time asked about, never stored.
    def state_at(self, at: datetime) -> JamState:
        if self.closed_early_at is not None and at >= self.closed_early_at:
            return JamState.CLOSED
        if at < self.starts_at:
            return JamState.SCHEDULED
        if at < self.ends_at:
            return JamState.OPEN
        return JamState.CLOSED

    def require_open(self, at: datetime) -> None:
        state = self.state_at(at)
        if state is JamState.SCHEDULED:
            raise JamNotOpen(f"the jam opens at {self.starts_at.isoformat()}")
        if state is JamState.CLOSED:
            raise JamNotOpen("the jam is closed")

    def require_forum(self, slug: str) -> Forum:
        try:
            return self.forums[slug]
        except KeyError:
            raise UnknownForum(f"this jam has no forum {quoted(slug)}") from None

    def add_forum(self, forum: Forum, *, by: Participant, at: datetime) -> None:
        by.require_organizer(self.id)
        if forum.slug in self.forums:
            raise ConflictingState(f"forum {quoted(forum.slug)} already exists")
        if any(f.title.casefold() == forum.title.casefold() for f in self.forums.values()):
            raise ConflictingState(f"a forum titled {quoted(forum.title)} already exists")
        if len(self.forums) >= MAX_FORUMS:
            raise InvalidValue(f"a jam may have at most {MAX_FORUMS} forums")
        if self.state_at(at) is JamState.CLOSED:
            raise JamNotOpen("the jam is closed")
        self._forum_added(forum=forum.as_dict(), added_by=by.id, timestamp=at)

    @event("ForumAdded")
    def _forum_added(self, forum: dict[str, str], added_by: UUID, timestamp: datetime) -> None:
        self.forums[forum["slug"]] = Forum(**forum)

    def reschedule(
        self, *, starts_at: datetime, ends_at: datetime, by: Participant, at: datetime
    ) -> None:
        """Move a jam that has not started yet."""
        by.require_organizer(self.id)
        if self.state_at(at) is not JamState.SCHEDULED:
            raise ConflictingState(
                "only a jam that has not started can be rescheduled; extend it instead"
            )
        _check_window(starts_at, ends_at)
        if starts_at < at:
            raise InvalidSchedule("a jam cannot be rescheduled to start in the past")
        self._rescheduled(starts_at=starts_at, ends_at=ends_at, rescheduled_by=by.id, timestamp=at)

    @event("Rescheduled")
    def _rescheduled(
        self, starts_at: datetime, ends_at: datetime, rescheduled_by: UUID, timestamp: datetime
    ) -> None:
        self.starts_at = starts_at
        self.ends_at = ends_at

    def extend(self, *, ends_at: datetime, by: Participant, at: datetime) -> None:
        """Push the end later; a jam that ran out of time reopens."""
        by.require_organizer(self.id)
        if self.closed_early_at is not None:
            raise ConflictingState("a jam closed early cannot be extended")
        require_aware("ends_at", ends_at)  # before comparing: a naive time cannot be compared
        if ends_at <= self.ends_at:
            raise InvalidSchedule("an extension must end later than the current end")
        _check_window(self.starts_at, ends_at)
        self._extended(ends_at=ends_at, extended_by=by.id, timestamp=at)

    @event("Extended")
    def _extended(self, ends_at: datetime, extended_by: UUID, timestamp: datetime) -> None:
        self.ends_at = ends_at

    def close_early(self, *, reason: str, by: Participant, at: datetime) -> None:
        by.require_organizer(self.id)
        if self.state_at(at) is JamState.CLOSED:
            raise ConflictingState("the jam is already closed")
        self._closed_early(
            reason=require_text("reason", reason, max_len=REASON_MAX, min_len=0),
            closed_by=by.id,
            timestamp=at,
        )

    @event("ClosedEarly")
    def _closed_early(self, reason: str, closed_by: UUID, timestamp: datetime) -> None:
        self.closed_early_at = timestamp
        self.close_reason = reason

    def send_alert(self, *, message: str, by: Participant, at: datetime) -> None:
        """A banner every participant of the jam sees, until replaced or cleared."""
        by.require_organizer(self.id)
        self._alert_sent(
            message=require_text("alert", message, max_len=REASON_MAX), sent_by=by.id, timestamp=at
        )

    @event("AlertSent")
    def _alert_sent(self, message: str, sent_by: UUID, timestamp: datetime) -> None:
        self.alert = message

    def clear_alert(self, *, by: Participant, at: datetime) -> None:
        by.require_organizer(self.id)
        if not self.alert:  # cleared already: clearing is idempotent
            return
        self._alert_cleared(cleared_by=by.id, timestamp=at)

    @event("AlertCleared")
    def _alert_cleared(self, cleared_by: UUID, timestamp: datetime) -> None:
        self.alert = ""

    def summary(self, at: datetime) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "title": self.title,
            "state": self.state_at(at).value,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "forums": [f.as_dict() for f in self.forums.values()],
        }
