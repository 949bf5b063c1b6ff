"""What the domain tests build again and again: a fixed calendar, people, jams and ideas.

Plain functions with sensible defaults, so a test names only what its story is about.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from domain import Forum, Idea, Invite, Jam, Participant

# The calendar of every jam these tests create: made the day before it opens.
CREATED = datetime(2030, 4, 30, 9, tzinfo=UTC)
STARTS = datetime(2030, 5, 1, 9, tzinfo=UTC)
DURING = datetime(2030, 5, 2, 9, tzinfo=UTC)
ENDS = datetime(2030, 5, 4, 9, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)

FUTURE_OF_WORK = Forum.checked("future-of-work", "The future of work")

# The ways a jam is not open; see `a_moment_outside_the_window`.
OUTSIDE = ["before it starts", "once it has ended", "after it closed early"]


def issue(
    role: str = "participant",
    jam: Jam | None = None,
    *,
    code: str | None = None,
    uses: int = 1,
    by: Participant | None = None,
    segment: str = "employee",
) -> Invite:
    return Invite.issue(
        code=code or uuid4().hex,
        role=role,
        segment=segment,
        jam_id=jam.id if jam else None,
        uses=uses,
        by=by,
        at=CREATED,
    )


def redeem(invite: Invite, name: str = "Ada", at: datetime = CREATED) -> Participant:
    return Participant.join(participant_id=uuid4(), invite=invite, display_name=name, at=at)


def join(
    role: str = "participant",
    jam: Jam | None = None,
    *,
    segment: str = "employee",
    name: str = "Ada",
) -> Participant:
    """Someone who joined with a fresh invite: of `jam`, or of every jam when None."""
    return redeem(issue(role, jam, segment=segment), name=name)


def create_jam(organizer: Participant | None = None, **changes: object) -> Jam:
    """A jam open from STARTS to ENDS with one forum, future-of-work; `changes` override."""
    details: dict[str, object] = {
        "jam_id": uuid4(),
        "title": "InnovationJam",
        "description": "Ideas worth funding",
        "forums": [FUTURE_OF_WORK],
        "starts_at": STARTS,
        "ends_at": ENDS,
        "by": organizer or join("organizer"),
        "at": CREATED,
    }
    return Jam.create(**(details | changes))  # type: ignore[arg-type]


def post(
    jam: Jam,
    author: Participant,
    *,
    title: str = "Four-day week",
    body: str = "Try it for a quarter.",
    forum: str = "future-of-work",
    at: datetime = DURING,
) -> Idea:
    return Idea.post(
        idea_id=uuid4(), jam=jam, author=author, forum=forum, title=title, body=body, at=at
    )


def an_idea_in_an_open_jam() -> tuple[Jam, Idea]:
    """A new jam and an idea posted the moment it opened."""
    jam = create_jam()
    return jam, post(jam, join(jam=jam), at=STARTS)


def block(participant: Participant, at: datetime = DURING) -> None:
    participant.block(reason="Spam", by=join("organizer"), at=at)


def a_moment_outside_the_window(when: str, jam: Jam) -> datetime:
    """A moment at which `jam` is not open, `when` being one of OUTSIDE."""
    if when == "before it starts":
        return STARTS - SECOND
    if when == "once it has ended":
        return ENDS
    jam.close_early(reason="Enough ideas", by=join("organizer"), at=DURING + MINUTE)
    return DURING + 2 * MINUTE


def replay(events: list[Any]) -> Any:
    """The aggregate rebuilt from its events alone."""
    aggregate = None
    for e in events:
        aggregate = e.mutate(aggregate)
    assert aggregate is not None
    return aggregate
