"""The demo jam: open now for 72 hours, with a few hundred synthetic posts.

Everything goes through the same commands as real use, in parallel, so the
group-commit path does the seeding. The text is generated from themed phrase
lists with a fixed seed, so the demo looks the same every time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from domain import Jam
from domain.values import JamState, Segment
from jam import commands as c
from jam.application import JamApplication
from jam.directory import jams
from jam.invites import new_invite_code

DEMO_TITLE = "OpenJam Demo: Ideas for the Next Decade"
SEGMENT_WEIGHTS = {
    Segment.EMPLOYEE: 55,
    Segment.CLIENT: 20,
    Segment.FAMILY: 15,
    Segment.PARTNER: 10,
}

FORUMS: dict[str, tuple[str, str, list[str], list[str]]] = {
    "future-of-work": (
        "The future of work",
        "How we learn, collaborate and organise ourselves.",
        [
            "a four-day week pilot",
            "skills passports for every employee",
            "mentoring circles across teams",
            "async-first meeting rules",
            "internal gig marketplaces",
            "AI pair assistants for support staff",
            "rotations between research and sales",
            "a learning budget that rolls over",
        ],
        [
            "to keep experienced people",
            "to cut meeting time in half",
            "to open careers to new talent",
            "so teams stop reinventing the same tools",
            "to make remote work fair",
            "to speed up onboarding",
        ],
    ),
    "health": (
        "Health and wellbeing",
        "Care for patients, clinicians, families and ourselves.",
        [
            "remote monitoring for chronic patients",
            "AI triage in emergency rooms",
            "shared medical records across clinics",
            "mental health first-aiders at work",
            "wearables for elderly people living alone",
            "a clinical trial matching service",
            "open data on hospital waiting times",
            "home care scheduling software",
        ],
        [
            "to shorten waiting lists",
            "so families can care from afar",
            "to catch illness earlier",
            "to reduce burnout among nurses",
            "to lower the cost of care",
            "so patients own their data",
        ],
    ),
    "cities": (
        "Smarter cities and transport",
        "Moving people and goods, and the places they live.",
        [
            "real-time traffic signal optimisation",
            "shared electric cargo bikes",
            "sensor networks for bridges",
            "a single ticket for every transit mode",
            "water leak detection in old pipes",
            "digital twins of city districts",
            "night buses planned from phone data",
            "smart parking guidance",
        ],
        [
            "to cut commute times",
            "to save water in dry summers",
            "to make streets safer for children",
            "so planners can test changes before building",
            "to lower emissions downtown",
            "to serve suburbs that buses miss",
        ],
    ),
    "planet": (
        "Energy and the planet",
        "Cleaner energy, less waste, a livable climate.",
        [
            "carbon accounting for every product",
            "heat pumps for our offices",
            "a marketplace for used servers",
            "solar roofs on company car parks",
            "battery storage to smooth the grid",
            "supplier scores for emissions",
            "repair-first policies for laptops",
            "data centres cooled by rivers",
        ],
        [
            "to reach net zero sooner",
            "to cut energy bills",
            "so clients can choose greener options",
            "to keep electronics out of landfill",
            "to make the grid more resilient",
            "to show progress with real numbers",
        ],
    ),
}

OPENERS = ["Let's pilot", "We should build", "Fund", "Create", "Offer", "Launch", "Roll out"]
COMMENTS = [
    "Love this. We tried something similar in our region and it worked.",
    "How would we measure success after six months?",
    "Clients have asked us for exactly this.",
    "My family would use it every day.",
    "What about privacy? We need a clear answer before a pilot.",
    "This overlaps with another idea in this forum; worth joining forces.",
    "Start small: one site, one quarter, then decide.",
    "Partners could co-fund this if we share the data.",
    "I'd volunteer for the first team.",
    "The cost estimate seems optimistic to me.",
]
NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Tim",
    "Radia",
    "Linus",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Margaret",
    "Donald",
    "Hedy",
    "Vint",
    "Shafi",
    "Yukihiro",
    "Sophie",
    "Guido",
    "Anita",
]


@dataclass
class Demo:
    jam_id: UUID
    title: str
    invites: dict[str, str] = field(default_factory=dict)
    seeded: bool = False

    def describe(self, base_url: str) -> str:
        lines = [
            f"OpenJam demo: {self.title}",
            f"  web:     {base_url}/",
            f"  health:  {base_url}/health",
            f"  API:     {base_url}/schema",
            "  (the API's reads need a session: POST /api/session with a code below, then",
            "   send 'Authorization: Bearer <token>'; the web pages sign you in with a code)",
            f"  ideas:   {base_url}/api/jams/{self.jam_id}/ideas?sort=hot",
            f"  stats:   {base_url}/api/jams/{self.jam_id}/stats",
            f"  live:    {base_url}/api/jams/{self.jam_id}/stream",
            f"  jam id:  {self.jam_id}",
            "  invite codes (sign in at the web address):",
        ]
        lines += [f"    {role:<12} {code}" for role, code in self.invites.items()]
        lines += [
            "  (each sign-in with an invite code makes a new participant: to come back as",
            "   the same one, make a personal code on My activity before signing out)",
        ]
        return "\n".join(lines)


def seed_or_reuse(app: JamApplication, progress: Callable[[str], None] = lambda _: None) -> Demo:
    """Reuse an open demo jam in this store, or seed a new one; issue fresh invites."""
    now = app.now()
    current = next(
        (
            j
            for j in reversed(jams(app))
            if j.title == DEMO_TITLE and j.state_at(now) is JamState.OPEN
        ),
        None,
    )
    if current is None:
        progress("Seeding the demo jam (a few seconds)...")
        demo = seed(app)
    else:
        demo = Demo(jam_id=current.id, title=current.title)
    demo.invites = _demo_invites(app, demo.jam_id)
    return demo


def _demo_invites(app: JamApplication, jam_id: UUID) -> dict[str, str]:
    invites = {}
    for role, segment, jam in (
        ("participant", "employee", jam_id),
        ("organizer", "employee", None),
        ("leader", "employee", jam_id),
    ):
        code = new_invite_code()
        app.handle(c.IssueInvite(code=code, role=role, segment=segment, jam_id=jam, uses=100))
        invites[role] = code
    return invites


def seed(
    app: JamApplication,
    *,
    people: int = 160,
    ideas: int = 240,
    comments: int = 600,
    votes: int = 3000,
    rng_seed: int = 2006,
) -> Demo:
    rng = random.Random(rng_seed)
    now = app.now()
    starts_at = now - timedelta(hours=2)
    # Activity is spread over the two hours the jam has already been open.
    span = (now - starts_at).total_seconds() - 60

    def moment() -> datetime:
        return starts_at + timedelta(seconds=30 + rng.random() * span)

    organizer = _join(
        app, "organizer", Segment.EMPLOYEE, "Demo Organizer", None, starts_at - timedelta(days=1)
    )
    jam_id = uuid4()
    app.handle(
        c.CreateJam(
            actor=organizer,
            jam_id=jam_id,
            title=DEMO_TITLE,
            description=(
                "Post the ideas you would fund, discuss them, and vote. Leadership funds the best."
            ),
            forums=tuple(c.ForumSpec(slug, t, d) for slug, (t, d, _, _) in FORUMS.items()),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=72),
            at=starts_at - timedelta(days=1),
        )
    )
    segments = list(SEGMENT_WEIGHTS)
    weights = list(SEGMENT_WEIGHTS.values())
    plans = [
        (rng.choices(segments, weights)[0], f"{rng.choice(NAMES)} {chr(65 + i % 26)}.")
        for i in range(people)
    ]
    with ThreadPoolExecutor(max_workers=16) as pool:
        members = list(
            pool.map(lambda p: _join(app, "participant", p[0], p[1], jam_id, starts_at), plans)
        )

        idea_cmds = []
        for _ in range(ideas):
            slug = rng.choice(list(FORUMS))
            _, theme, subjects, purposes = FORUMS[slug]
            subject, purpose = rng.choice(subjects), rng.choice(purposes)
            title = f"{rng.choice(OPENERS)} {subject} {purpose}"[:120]
            # The forum's theme in every body, as people write about their forum's question:
            # the demo's topic clusters then have something real to find.
            body = (
                f"{title}. {theme} {subject[0].upper()}{subject[1:]} would be a start: "
                "a small pilot first, then more if it works."
            )
            idea_cmds.append(
                c.PostIdea(
                    actor=rng.choice(members),
                    jam_id=jam_id,
                    idea_id=uuid4(),
                    forum=slug,
                    title=title,
                    body=body,
                    at=moment(),
                )
            )
        _run_all(pool, app, idea_cmds)
        idea_ids = [cmd.idea_id for cmd in idea_cmds]
        posted_at = {cmd.idea_id: cmd.at for cmd in idea_cmds}

        # Popularity is skewed, as in real jams: a few ideas draw most of the activity.
        popularity = [1 / (rank + 1) ** 0.8 for rank in range(len(idea_ids))]
        top_level = []
        for _ in range(comments // 2):
            idea = rng.choices(idea_ids, popularity)[0]
            top_level.append(_comment(rng, members, idea, None, _after(rng, posted_at[idea], now)))
        _run_all(pool, app, top_level)
        replies = []
        for _ in range(comments - len(top_level)):
            parent = rng.choice(top_level)
            replies.append(
                _comment(
                    rng, members, parent.idea_id, parent.comment_id, _after(rng, parent.at, now)
                )
            )
        _run_all(pool, app, replies)

        ballots = set()
        vote_cmds = []
        while len(vote_cmds) < votes:
            voter, idea = rng.choice(members), rng.choices(idea_ids, popularity)[0]
            if (voter, idea) in ballots:
                continue
            ballots.add((voter, idea))
            value = 1 if rng.random() < 0.82 else -1
            vote_cmds.append(
                c.CastVote(
                    actor=voter, idea_id=idea, value=value, at=_after(rng, posted_at[idea], now)
                )
            )
        _run_all(pool, app, vote_cmds)
    return Demo(jam_id=jam_id, title=DEMO_TITLE, seeded=True)


def _after(rng: random.Random, start: datetime | None, end: datetime) -> datetime:
    assert start is not None
    return start + (end - start) * rng.random()


def _comment(
    rng: random.Random, members: list[UUID], idea: UUID, parent: UUID | None, at: datetime
) -> c.PostComment:
    return c.PostComment(
        actor=rng.choice(members),
        comment_id=uuid4(),
        idea_id=idea,
        parent_id=parent,
        body=rng.choice(COMMENTS),
        at=at,
    )


def _run_all(pool: ThreadPoolExecutor, app: JamApplication, cmds: Iterable[c.Command]) -> None:
    for _ in pool.map(app.handle, cmds):
        pass


def _join(
    app: JamApplication, role: str, segment: Segment, name: str, jam: UUID | None, at: datetime
) -> UUID:
    code = new_invite_code()
    app.handle(c.IssueInvite(code=code, role=role, segment=segment.value, jam_id=jam, at=at))
    participant = uuid4()
    app.handle(c.JoinJam(invite_code=code, participant_id=participant, display_name=name, at=at))
    return participant


__all__ = ["DEMO_TITLE", "Demo", "Jam", "seed", "seed_or_reuse"]
