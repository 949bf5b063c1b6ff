"""Replay mode: a whole jam, accelerated, through the real write path.

Every action is a command handed to `JamApplication.handle` by one of many
concurrent submitter threads, so the group committer decides it against the
aggregates and saves its events: nothing is written by hand. An action only
refers to what the store has acknowledged (a comment to an idea whose posting
returned, a vote by someone whose joining returned), as a real participant
only reacts to what they have seen.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from bench.sim_plan import SEGMENTS, ArrivalCurve, Volume, Writer
from jam import commands as c
from jam.application import JamApplication
from jam.demo import FORUMS
from jam.settings import Settings

# Ids are derived from a counter, so the stream keeps ints rather than UUIDs.
PEOPLE, IDEAS, COMMENTS = 1 << 100, 2 << 100, 3 << 100
INVITE_USES = 1000
JOIN_BIAS = 2.5  # people arrive earlier than the average action: joins are front-loaded
REPLY_SHARE = 0.35
UP_SHARE = 0.82


def _id(base: int, n: int) -> UUID:
    return UUID(int=base + n)


class ReplayStream:
    """The jam's actions in order of time, drawn as the submitters ask for them."""

    def __init__(
        self, volume: Volume, jam_id: UUID, seed: int = 2006, deadline: float | None = None
    ) -> None:
        self.deadline = deadline  # time.monotonic() after which no more actions are drawn
        self.rng = random.Random(seed)
        self.text = Writer(self.rng)
        self.curve = ArrivalCurve()
        self.volume = volume
        self.jam_id = jam_id
        self.left = {
            "join": volume.participants,
            "idea": volume.ideas,
            "comment": volume.comments,
            "vote": volume.votes,
        }
        self.drawn = 0
        self.invites_used: Counter[str] = Counter()
        # Acknowledged things, in the order their commands returned.
        self.people: list[int] = []
        self.ideas: list[int] = []
        self.comments: list[int] = []
        self.comment_idea: dict[int, int] = {}
        self.lock = threading.Lock()

    def invites(self) -> list[c.IssueInvite]:
        """Enough codes of `INVITE_USES` each for every segment."""
        per_segment = -(-self.volume.participants // INVITE_USES)
        return [
            c.IssueInvite(
                code=f"{seg}-{k}",
                role="participant",
                segment=seg,
                jam_id=self.jam_id,
                uses=INVITE_USES,
                at=self.curve.start - timedelta(hours=1),
            )
            for seg in SEGMENTS
            for k in range(per_segment)
        ]

    def next(self) -> c.Command | None:
        with self.lock:
            while True:
                if self.deadline is not None and time.monotonic() > self.deadline:
                    return None
                kind = self._kind()
                if kind is None:
                    return None
                command = self._make(kind)
                if command is not None:
                    self.left[kind] -= 1
                    self.drawn += 1
                    return command
                # Nothing acknowledged yet to react to: let the others' commands land.
                self.lock.release()
                time.sleep(0.001)
                self.lock.acquire()

    def _kind(self) -> str | None:
        weights = [n * (JOIN_BIAS if k == "join" else 1) for k, n in self.left.items()]
        if not any(weights):
            return None
        return self.rng.choices(list(self.left), weights)[0]

    def _make(self, kind: str) -> c.Command | None:
        rng = self.rng
        at = self.curve.moment(self.drawn / self.volume.commands)
        if kind == "join":
            n = self.volume.participants - self.left["join"]
            segment = self.text.segment()
            code = f"{segment}-{self.invites_used[segment] // INVITE_USES}"
            self.invites_used[segment] += 1
            return c.JoinJam(
                invite_code=code, participant_id=_id(PEOPLE, n), display_name=f"P{n}", at=at
            )
        if not self.people:
            return None
        actor = _id(PEOPLE, rng.choice(self.people))
        if kind == "idea":
            n = self.volume.ideas - self.left["idea"]
            forum, title, body = self.text.idea()
            return c.PostIdea(
                actor=actor,
                jam_id=self.jam_id,
                idea_id=_id(IDEAS, n),
                forum=forum,
                title=title,
                body=body,
                at=at,
            )
        if not self.ideas:
            return None
        if kind == "comment":
            n = self.volume.comments - self.left["comment"]
            parent = None
            if self.comments and rng.random() < REPLY_SHARE:
                parent = rng.choice(self.comments)
                idea = self.comment_idea[parent]
            else:
                idea = self._popular_idea()
            self.comment_idea[n] = idea
            return c.PostComment(
                actor=actor,
                comment_id=_id(COMMENTS, n),
                idea_id=_id(IDEAS, idea),
                parent_id=None if parent is None else _id(COMMENTS, parent),
                body=self.text.comment(),
                at=at,
            )
        value = 1 if rng.random() < UP_SHARE else -1
        return c.CastVote(actor=actor, idea_id=_id(IDEAS, self._popular_idea()), value=value, at=at)

    def _popular_idea(self) -> int:
        """Older ideas have gathered more attention; new ones get a look on the 'new' list."""
        rng, ideas = self.rng, self.ideas
        if rng.random() < 0.3:
            return ideas[-1 - int(min(len(ideas), 200) * rng.random())]
        return ideas[int(len(ideas) * rng.random() ** 3)]

    def acknowledged(self, command: c.Command) -> None:
        # list.append is atomic: no lock needed on the submitters' side.
        if isinstance(command, c.JoinJam):
            self.people.append(command.participant_id.int - PEOPLE)
        elif isinstance(command, c.PostIdea):
            self.ideas.append(command.idea_id.int - IDEAS)
        elif isinstance(command, c.PostComment):
            self.comments.append(command.comment_id.int - COMMENTS)


def _settings(spec: dict) -> Settings:
    """The store the replay writes to, as every phase's process opens it."""
    extra = {"commit_cache": spec["commit_cache"]} if spec.get("commit_cache") else {}
    return Settings(
        data_dir=Path(spec["data_dir"]),
        database_url=spec.get("database_url"),
        database_schema=spec["database_schema"] if spec.get("database_url") else "",
        **extra,
    )


def ingest(spec: dict) -> None:
    """The ingest process: set the jam up, then replay it with many submitters."""
    volume = Volume(**spec["volume"])
    app = JamApplication(_settings(spec))
    budget = spec.get("max_seconds")
    deadline = time.monotonic() + budget if budget else None
    stream = ReplayStream(volume, UUID(int=4 << 100), deadline=deadline)
    start = stream.curve.start
    setup_at = start - timedelta(days=1)
    organizer = UUID(int=5 << 100)
    app.handle(c.IssueInvite(code="organizer", role="organizer", at=setup_at))
    app.handle(
        c.JoinJam(
            invite_code="organizer", participant_id=organizer, display_name="Org", at=setup_at
        )
    )
    app.handle(
        c.CreateJam(
            actor=organizer,
            jam_id=stream.jam_id,
            title="InnovationJam replay",
            description="An accelerated replay of a whole jam.",
            forums=tuple(
                c.ForumSpec(slug, title, about) for slug, (title, about, _, _) in FORUMS.items()
            ),
            starts_at=start,
            ends_at=start + timedelta(hours=stream.curve.hours),
            at=setup_at,
        )
    )
    for invite in stream.invites():
        app.handle(invite)

    # The committer loads from the store only what its cache lacks: count those loads.
    loads = [0]
    fetch = app.fetch

    def counted_fetch(ident: UUID) -> object:
        loads[0] += 1  # only the committer thread calls this
        return fetch(ident)

    app.fetch = counted_fetch  # type: ignore[method-assign]
    failures: Counter[str] = Counter()
    done = [0] * spec["submitters"]  # one counter per submitter: no lock needed

    def submit(k: int) -> None:
        while (command := stream.next()) is not None:
            try:
                app.handle(command)
            except Exception as exc:  # counted and reported; the replay goes on
                with stream.lock:
                    failures[type(exc).__name__] += 1
                continue
            stream.acknowledged(command)
            done[k] += 1

    first = app.position()
    started = time.perf_counter()
    threads = [threading.Thread(target=submit, args=(k,)) for k in range(spec["submitters"])]
    for t in threads:
        t.start()
    last_report, last_done, last_loads = started, 0, 0
    while any(t.is_alive() for t in threads):
        threads[0].join(timeout=0.2)
        now = time.perf_counter()
        if now - last_report >= spec.get("report_every_s", 10):
            share, total = stream.drawn / volume.commands, sum(done)
            recent = total - last_done
            print(
                f"{total:,} commands ({share:.0%}) in {now - started:.0f} s, "
                f"{total / (now - started):,.0f}/s; lately {recent / (now - last_report):,.0f}/s "
                f"with {(loads[0] - last_loads) / max(recent, 1):.2f} store loads a command",
                flush=True,
            )
            last_report, last_done, last_loads = now, total, loads[0]
    elapsed = time.perf_counter() - started
    stats = app.committer.stats if app.committer else None
    result = {
        "commands": sum(done),
        "complete": stream.drawn == volume.commands,
        "failures": dict(failures),
        "events": app.position() - first,
        "position": app.position(),
        "seconds": elapsed,
        "batches": stats.batches if stats else 0,
        "loads": loads[0],
        "largest_batch": stats.largest if stats else 0,
    }
    app.close()
    print("RESULT " + json.dumps(result), flush=True)


def cluster(spec: dict) -> None:
    """The clustering process: one full refresh of every jam by the ranking worker,
    over the read models the projection built (text vectors, topic clusters, their
    descriptions, the ranking and duplicate pairs), as `jam worker ranking` does."""
    from projections.db import open_views
    from ranking.engine import default_engine
    from ui.bootstrap import ranking_worker

    settings = _settings(spec)
    app = JamApplication(settings)
    views = open_views(settings.database_url, settings.database_schema, settings.data_dir)
    try:
        worker = ranking_worker(settings, app, views, default_engine())
        started = time.perf_counter()
        updates = worker.step(force=True)
        elapsed = time.perf_counter() - started
        with views.reading() as cur:
            ideas = cur.execute("SELECT COUNT(*) FROM rm_ideas").fetchone()[0]
            placed = cur.execute("SELECT COUNT(*) FROM rk_idea_topics").fetchone()[0]
            row = cur.execute("SELECT clusters FROM rk_topics").fetchone()
    finally:
        views.close()
        app.close()
    result = {
        "seconds": elapsed,
        "jams": len(updates),
        "ideas": ideas,
        "placed": placed,
        "clusters": len(json.loads(row[0])) if row else 0,
    }
    print("RESULT " + json.dumps(result), flush=True)
