"""Small hand-made jams for the ranking's tests: people, ideas and votes, then a snapshot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from ranking.model import (
    AGREE,
    CommentRow,
    IdeaRow,
    JamSnapshot,
    ParticipantRow,
    Topics,
    VoteRow,
)

T0 = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Jam:
    """A jam written line by line; `snapshot()` freezes it as the ranking reads it."""

    def __init__(self) -> None:
        self.ideas: list[IdeaRow] = []
        self.votes: list[VoteRow] = []
        self.participants: list[ParticipantRow] = []
        self.comments: list[CommentRow] = []
        self.joined: dict[str, datetime] = {}

    def people(
        self,
        prefix: str,
        n: int,
        segment: str = "employee",
        joined: datetime = T0,
        every: timedelta = timedelta(minutes=37),
    ) -> list[str]:
        """`n` participants joining from `joined`, one every `every`."""
        ids = [f"{prefix}{k}" for k in range(n)]
        for k, pid in enumerate(ids):
            self.joined[pid] = joined + k * every
            self.participants.append(ParticipantRow(pid, segment, self.joined[pid]))
        return ids

    def idea(
        self,
        idea_id: str,
        posted: datetime = T0,
        hidden: bool = False,
        duplicate_of: str | None = None,
    ) -> str:
        self.ideas.append(
            IdeaRow(
                id=idea_id,
                forum="work",
                author_id="author",
                author_segment="employee",
                title=f"Idea {idea_id}",
                body="",
                posted_at=posted,
                hidden=hidden,
                duplicate_of=duplicate_of,
            )
        )
        return idea_id

    def vote(
        self,
        people: Iterable[str],
        idea_id: str,
        value: int = AGREE,
        after: timedelta = timedelta(minutes=30),
    ) -> None:
        """Each person votes `after` they joined (and never before the idea was posted)."""
        posted = next(i.posted_at for i in self.ideas if i.id == idea_id)
        for pid in people:
            at = max(self.joined[pid], posted) + after
            self.votes.append(VoteRow(idea_id, pid, value, at))

    def comment(self, idea_id: str, n: int, at: datetime = T0 + HOUR) -> None:
        self.comments += [CommentRow(idea_id, f"commenter{k}", at) for k in range(n)]

    def snapshot(self, as_of: datetime = T0 + 72 * HOUR) -> JamSnapshot:
        return JamSnapshot(
            jam_id="jam",
            position=len(self.votes),
            as_of=as_of,
            ideas=tuple(self.ideas),
            votes=tuple(self.votes),
            participants=tuple(self.participants),
            comments=tuple(self.comments),
        )


def topics(assignment: Mapping[str, str], as_of: datetime = T0 + 72 * HOUR) -> Topics:
    """Topic clusters given by hand (idea id -> cluster id)."""
    return Topics(position=0, as_of=as_of, clusters=(), assignment=dict(assignment), method="given")
