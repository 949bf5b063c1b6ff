"""Setting up a jam for load, and what the log must show afterwards."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from uuid import UUID, uuid4

import httpx

from jam import commands as c
from jam.application import JamApplication
from jam.clock import system_clock
from jam.settings import Settings
from projections import queries
from projections.db import PostgresViews
from tests.reliability.load import Ack, Follower, Key, Load, Writer
from tests.stories import open_jam


class Now:
    """A clock object for tests.stories that reads the real time (the servers do)."""

    @property
    def now(self):
        return system_clock()


@dataclass
class Jam:
    jam_id: UUID
    invite_codes: list[str]


def jam_for_load(app: JamApplication, people: int) -> Jam:
    scene = open_jam(app, Now())  # type: ignore[arg-type]
    codes = []
    for _ in range(people):
        code = uuid4().hex
        app.handle(c.IssueInvite(code=code, role="participant", jam_id=scene.jam_id))
        codes.append(code)
    return Jam(scene.jam_id, codes)


def sign_in(base: str, code: str) -> str:
    response = httpx.post(
        f"{base}/api/session", json={"invite_code": code, "display_name": "Loader"}, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


@dataclass
class LogReport:
    lost: list[Ack]  # acknowledged but not in the log: must be empty
    duplicated: list[UUID]  # created more than once: must be empty
    ideas: int  # created in the log
    comments: int
    receipts: int  # idempotency receipts: one per keyed write, saved with it


def read_log(app: JamApplication, acks: list[Ack]) -> LogReport:
    """Compare what the clients were told with what the log holds."""
    created: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    start = 1
    while rows := app.recorder.select_rows(start, 5000):  # type: ignore[attr-defined]
        for _, originator, topic, _ in rows:
            topics[topic] += 1
            if topic.endswith(("Idea.Posted", "Comment.Posted")):
                created[originator] += 1
        start = rows[-1][0] + 1
    return LogReport(
        lost=[a for a in acks if str(a.id) not in created],
        duplicated=[UUID(i) for i, n in created.items() if n > 1],
        ideas=sum(n for t, n in topics.items() if t.endswith("Idea.Posted")),
        comments=sum(n for t, n in topics.items() if t.endswith("Comment.Posted")),
        receipts=sum(n for t, n in topics.items() if "Receipt" in t),
    )


def load_on(base: str, jam: Jam, after: int, followers: int) -> Load:
    """A writer per invite code, signed in, and followers of the jam's stream from `after`."""
    load = Load()
    tokens = [sign_in(base, code) for code in jam.invite_codes]
    for i, token in enumerate(tokens):
        load.writers.append(Writer(base, token, jam.jam_id, f"w{i}", load.stop))
    stream = f"{base}/api/jams/{jam.jam_id}/stream"
    load.followers = [Follower(stream, after, load.closed, tokens[0]) for _ in range(followers)]
    return load


def assert_nothing_lost(app: JamApplication, load: Load, acks: list[Ack]) -> None:
    """Every acknowledged write is in the log once, with its receipt, and nothing else is."""
    report = read_log(app, acks)
    assert report.lost == []
    assert report.duplicated == []
    assert report.ideas + report.comments == len(acks) == report.receipts
    assert load.unfinished() == []


def jam_feed(database_url: str, schema: str, jam_id: UUID, after: int) -> set[Key]:
    """The jam's live updates past `after` in the read models' feed (what a stream that
    resumes from `after` must bring), once the read models include the whole log."""
    views = PostgresViews(database_url, schema)
    try:
        with JamApplication(Settings(database_url=database_url, database_schema=schema)) as app:
            end = app.position()
        deadline = time.monotonic() + 60
        while True:
            with views.reading() as cur:
                projected = queries.position(cur)
                if projected >= end:
                    feed = queries.updates_after(cur, after, jam_id=str(jam_id), limit=2**31 - 1)
                    break
            assert time.monotonic() < deadline, f"the read models stayed at {projected} < {end}"
            time.sleep(0.1)
    finally:
        views.close()
    return {(u.position, u.kind, u.item_id) for u in feed}
