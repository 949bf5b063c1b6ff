"""A busy little jam: every kind of event the projections handle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID, uuid4

from jam import commands as c
from tests.stories import Scene


@dataclass
class Busy:
    scene: Scene
    people: dict[str, UUID] = field(default_factory=dict)
    ideas: dict[str, UUID] = field(default_factory=dict)
    comments: dict[str, UUID] = field(default_factory=dict)


def play(scene: Scene) -> Busy:
    app, clock = scene.app, scene.clock
    busy = Busy(scene)
    for name, segment in [
        ("ada", "employee"),
        ("bea", "client"),
        ("cy", "family"),
        ("di", "partner"),
    ]:
        busy.people[name] = scene.join(segment=segment, name=name.title())
    busy.people["lee"] = scene.join(role="leader", name="Lee")
    ada, bea, cy, di = (busy.people[n] for n in ("ada", "bea", "cy", "di"))

    def idea(key: str, author: UUID, forum: str, title: str) -> None:
        clock.advance(timedelta(minutes=1))
        busy.ideas[key] = uuid4()
        app.handle(
            c.PostIdea(
                actor=author,
                jam_id=scene.jam_id,
                idea_id=busy.ideas[key],
                forum=forum,
                title=title,
                body=f"{title}, explained.",
            )
        )

    idea("week", ada, "future-of-work", "Four-day week")
    idea("clinic", bea, "health", "Walk-in clinic at the office")
    idea("spam", cy, "health", "Buy cheap watches")
    idea("week2", di, "future-of-work", "Shorter working week")

    def comment(key: str, author: UUID, on: str, body: str, parent: str | None = None) -> None:
        clock.advance(timedelta(seconds=20))
        busy.comments[key] = uuid4()
        app.handle(
            c.PostComment(
                actor=author,
                comment_id=busy.comments[key],
                idea_id=busy.ideas[on],
                parent_id=busy.comments[parent] if parent else None,
                body=body,
            )
        )

    comment("c1", bea, "week", "Yes please")
    comment("c2", cy, "week", "How would clients be served?", parent="c1")
    comment("c3", ada, "week", "Rotas", parent="c2")
    comment("c4", di, "clinic", "Rude words")

    def vote(who: UUID, on: str, value: int) -> None:
        clock.advance(timedelta(seconds=10))
        app.handle(c.CastVote(actor=who, idea_id=busy.ideas[on], value=value))

    for who in (ada, bea, cy, di):
        vote(who, "week", 1)
    vote(ada, "clinic", 1)
    vote(bea, "clinic", -1)
    vote(cy, "clinic", 1)
    vote(cy, "clinic", -1)  # changed
    vote(di, "clinic", 1)
    vote(di, "clinic", 0)  # withdrawn
    vote(ada, "spam", 1)

    org = scene.organizer
    clock.advance(timedelta(minutes=1))
    app.handle(c.FlagIdea(actor=ada, idea_id=busy.ideas["spam"], reason="advertising"))
    app.handle(c.FlagIdea(actor=bea, idea_id=busy.ideas["spam"], reason="spam"))
    app.handle(c.FlagIdea(actor=cy, idea_id=busy.ideas["clinic"], reason="not sure"))
    app.handle(c.HideIdea(actor=org, idea_id=busy.ideas["spam"], reason="advertising"))
    app.handle(c.HideComment(actor=org, comment_id=busy.comments["c4"], reason="rude"))
    app.handle(
        c.MarkDuplicate(actor=org, idea_id=busy.ideas["week2"], original_id=busy.ideas["week"])
    )
    app.handle(
        c.EditIdea(actor=ada, idea_id=busy.ideas["week"], title="Four-day week", body="Pilot it.")
    )
    app.handle(
        c.RecordDecision(
            actor=busy.people["lee"],
            idea_id=busy.ideas["week"],
            decision="shortlisted",
            note="Promising",
        )
    )
    app.handle(c.RenameParticipant(actor=bea, participant_id=bea, display_name="Beatrice"))
    return busy


def play_tricky(scene: Scene, busy: Busy) -> None:
    """Votes changed twice, passed, content hidden and restored, people blocked, in a row."""
    app, clock, org = scene.app, scene.clock, scene.organizer
    ada, bea, cy = busy.people["ada"], busy.people["bea"], busy.people["cy"]
    week, clinic = busy.ideas["week"], busy.ideas["clinic"]
    clock.advance(timedelta(minutes=2))
    for value in (1, -1, 0, 1):  # cast, changed, withdrawn, changed back
        app.handle(c.CastVote(actor=cy, idea_id=clinic, value=value))
    app.handle(c.CastVote(actor=ada, idea_id=week, value=-1))  # cast in an earlier page
    fresh = uuid4()
    app.handle(
        c.PostIdea(
            actor=bea, jam_id=scene.jam_id, idea_id=fresh, forum="health", title="New", body="B"
        )
    )
    app.handle(c.CastVote(actor=ada, idea_id=fresh, value=1))
    app.handle(c.HideIdea(actor=org, idea_id=fresh, reason="check"))
    app.handle(c.RestoreIdea(actor=org, idea_id=fresh, reason="fine"))
    app.handle(c.CastVote(actor=cy, idea_id=fresh, value=-1))
    note = uuid4()
    app.handle(c.PostComment(actor=cy, comment_id=note, idea_id=fresh, body="Hmm"))
    app.handle(c.HideComment(actor=org, comment_id=note, reason="rude"))
    app.handle(c.RestoreComment(actor=org, comment_id=note, reason="ok"))
    app.handle(c.EditComment(actor=cy, comment_id=note, body="Hmm, maybe"))
    clock.advance(timedelta(minutes=1))
    newcomer = scene.join(segment="client", name="Ed")
    app.handle(c.CastVote(actor=newcomer, idea_id=fresh, value=1))
    app.handle(c.PassIdea(actor=newcomer, idea_id=week))  # passed, and left so
    app.handle(c.PassIdea(actor=newcomer, idea_id=clinic))
    app.handle(c.CastVote(actor=newcomer, idea_id=clinic, value=1))  # passed, then cast
    app.handle(c.BlockParticipant(actor=org, participant_id=newcomer, reason="spam"))
    app.handle(c.UnblockParticipant(actor=org, participant_id=newcomer))
    app.handle(c.AddForum(actor=org, jam_id=scene.jam_id, forum=c.ForumSpec("cities", "Cities")))
