"""Setting the scene for tests: a jam, its organizer and some participants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from jam import commands as c
from jam.application import JamApplication
from jam.clock import ManualClock

FORUMS = (
    c.ForumSpec("future-of-work", "The future of work"),
    c.ForumSpec("health", "Health and wellbeing"),
)


@dataclass
class Scene:
    app: JamApplication
    clock: ManualClock
    organizer: UUID
    jam_id: UUID

    def join(self, role: str = "participant", segment: str = "employee", name: str = "Ada") -> UUID:
        code = uuid4().hex
        self.app.handle(c.IssueInvite(code=code, role=role, segment=segment, jam_id=self.jam_id))
        pid = uuid4()
        self.app.handle(c.JoinJam(invite_code=code, participant_id=pid, display_name=name))
        return pid

    def post_idea(
        self,
        author: UUID,
        title: str = "Four-day week",
        body: str = "Try it.",
        at: datetime | None = None,  # a time of its own (seeded, imported): else the clock's
    ) -> UUID:
        idea_id = uuid4()
        self.app.handle(
            c.PostIdea(
                actor=author,
                jam_id=self.jam_id,
                idea_id=idea_id,
                forum="future-of-work",
                title=title,
                body=body,
                at=at,
            )
        )
        return idea_id


def open_jam(
    app: JamApplication, clock: ManualClock, *, starts_in: timedelta = timedelta(0)
) -> Scene:
    """An organizer creates a 72-hour jam starting `starts_in` from now."""
    code = uuid4().hex
    app.handle(c.IssueInvite(code=code, role="organizer"))
    organizer = uuid4()
    app.handle(c.JoinJam(invite_code=code, participant_id=organizer, display_name="Olga"))
    jam_id = uuid4()
    start = clock.now + starts_in
    app.handle(
        c.CreateJam(
            actor=organizer,
            jam_id=jam_id,
            title="InnovationJam",
            description="Ideas worth funding",
            forums=FORUMS,
            starts_at=start,
            ends_at=start + timedelta(hours=72),
        )
    )
    return Scene(app=app, clock=clock, organizer=organizer, jam_id=jam_id)


@dataclass
class Hidden:
    """A jam where an organizer hid an idea of Ada's and Bob's comment on her shown idea."""

    scene: Scene
    ada: UUID
    bob: UUID
    shown: UUID
    hidden: UUID
    rude: UUID
    position: int  # the log's, once both are hidden


def with_hidden(app: JamApplication, clock: ManualClock) -> Hidden:
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    shown = scene.post_idea(ada, title="Shown")
    hidden = scene.post_idea(ada, title="Hidden")
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=hidden, reason="off topic"))
    rude = uuid4()
    app.handle(c.PostComment(actor=bob, comment_id=rude, idea_id=shown, body="Rude words"))
    done = app.handle(c.HideComment(actor=scene.organizer, comment_id=rude, reason="rude"))
    return Hidden(scene, ada, bob, shown, hidden, rude, done.position)
