"""A rebuild in two processes: a share of the votes projected beside the rest, then merged.

Gathering a page is Python work under one interpreter lock, so a rebuild in one
process uses about one core (docs/benchmarks.md, section 3). Votes are most of a
jam's events, and what a vote changes is either a row of its own (the vote) or a
sum (tallies and counters) or a latest time. So a second process projects the
votes whose id sorts below `SPLIT_BELOW` into a read-model database of its own,
starting from zero, while the main process projects every other event; the merge
then adds the second database's rows and sums to the main one in one transaction.
Every event of one vote goes to the same process (a vote's id is its aggregate's),
so a changed vote always finds the vote it changes.

The votes refer to ideas and people projected by the main process. The second
process makes a placeholder row for every idea posted and everyone who joined up
to the rebuild's end, so its sums have rows to go to; the merge reads only the
sums from them. Scores computed from the sums (Wilson, hot) are computed again
for the ideas the second process touched, from the merged tallies.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from eventsourcing.utils import get_topic

from domain import Idea, Participant, Vote
from projections import payloads as p
from projections.db import SQLiteViews
from projections.pipeline import (
    advance,
    project_pages,
    quick_turns,
    without_cycle_collection,
)
from projections.projector import COUNTER_TABLES, DecoderFor, Projector, Statement, iso
from projections.schema import INDEXES, create_tables, drop_indexes, index_name
from projections.scores import hot, wilson_lower_bound

# Votes whose id (32 hex digits) sorts below this go to the second process: ids
# are random, so "a" sends 10 of 16, about 44% of a typical jam's events, which
# balanced the two processes best (docs/benchmarks.md, section 3).
SPLIT_BELOW = "a"
VOTE_TOPICS = tuple(
    get_topic(cls) for cls in (Vote.Cast, Vote.Passed, Vote.Changed, Vote.Withdrawn)
)
_ALIAS = "share"
# Indexes the merge leaves alone (on columns it never changes, of tables it adds no
# rows to): the main process builds them while the second one finishes.
BUILT_BEFORE_MERGE = (
    "rm_ideas_jam_new",
    "rm_ideas_jam_position",
    "rm_ideas_jam_changed",
    "rm_comments_idea",
)


class Share(NamedTuple):
    """Part of the log: the events of `topics` whose aggregate id sorts below `below`
    (when `taken`), or every other event (when not)."""

    topics: tuple[str, ...]
    below: str
    taken: bool


class LogFile(Protocol):
    """The log as a second process reads it (see `jam.stores.sqlite.LogFile`)."""

    def open(self) -> Any: ...

    def views_decoder(self, type_: type[Any]) -> Any: ...


class _IdeaPlace(p.Payload):
    jam_id: p.Id
    forum: str


@dataclass(frozen=True)
class _Job:
    """What the second process is given (pickled to it)."""

    log: LogFile
    path: str
    end: int
    feed_from: int
    feed_retention: int
    largest: int
    share: Share


class SplitRebuild:
    """The second process of a rebuild, started at once; `merge` waits for it.

    Used as a context manager: leaving it stops the process if it still runs (the
    rebuild failed) and removes its database.
    """

    def __init__(
        self,
        log: LogFile,
        views_path: Path,
        *,
        end: int,
        feed_from: int,
        feed_retention: int,
        largest: int,
        below: str | None = None,
    ) -> None:
        below = SPLIT_BELOW if below is None else below
        _remove_stale(views_path)
        # A file of this process's own: a second rebuild started at the same time (which
        # then fails) must not take over or delete the first one's.
        self._path = views_path.with_name(f"{views_path.name}.share-{os.getpid()}-{id(self)}")
        self._remove()
        self.rest = Share(VOTE_TOPICS, below, taken=False)
        job = _Job(
            log,
            str(self._path),
            end,
            feed_from,
            feed_retention,
            largest,
            Share(VOTE_TOPICS, below, taken=True),
        )
        # A fresh interpreter, not a fork (the parent has threads and open connections)
        # nor multiprocessing's spawn (which would run the parent's main script again).
        self._process = subprocess.Popen(
            [sys.executable, "-m", "projections.split"],
            stdin=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))},
        )
        assert self._process.stdin is not None
        with self._process.stdin as stdin:
            pickle.dump(job, stdin)

    def __enter__(self) -> SplitRebuild:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._remove()

    def _remove(self) -> None:
        _unlink(self._path)

    def merge(self, views: SQLiteViews, after: int, end: int, feed_retention: int) -> None:
        """Wait for the second process, then add what it projected to `views` and
        record `end` as the position reached, in one transaction. `after` is the
        position this process's pages reached: if the read models moved on from it
        meanwhile (another rebuild began), nothing is merged."""
        with views.transaction() as cur:
            for statement in INDEXES:
                if index_name(statement) in BUILT_BEFORE_MERGE:
                    cur.execute(statement)
        code = self._process.wait()
        if code != 0:
            msg = f"the rebuild's second process failed (exit code {code})"
            raise RuntimeError(msg)
        with views.attached(self._path, _ALIAS), views.transaction() as cur:
            advance(cur, after, end)
            merge_share(cur, _ALIAS, feed_retention)


def _unlink(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _remove_stale(views_path: Path) -> None:
    """Remove the files of rebuilds whose process is gone (killed before cleaning up)."""
    if os.name != "posix":  # elsewhere os.kill(pid, 0) would not just ask
        return
    for found in views_path.parent.glob(f"{views_path.name}.share-*"):
        pid = found.name.removeprefix(f"{views_path.name}.share-").split("-")[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            found.unlink(missing_ok=True)  # and so each of its -wal, -shm, -journal
        except PermissionError:  # alive, another user's
            pass


def merge_share(cur: sqlite3.Cursor, alias: str, feed_retention: int) -> None:
    """Add the read models of the attached database `alias` (a share's) to the main ones."""
    # In key order, so the main table's index pages are filled in order.
    cur.execute(f"INSERT INTO rm_votes SELECT * FROM {alias}.rm_votes ORDER BY vote_id")
    for table, keys, counters in COUNTER_TABLES:
        columns = ", ".join(keys + counters)
        sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters)
        # `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT.
        cur.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {alias}.{table} "
            f"WHERE true ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
        )
    # The ideas the share touched (its placeholders start with no last activity) are
    # scored again from the merged tallies, by the projection's own functions.
    cur.connection.create_function("openjam_wilson", 2, wilson_lower_bound, deterministic=True)
    cur.connection.create_function("openjam_hot", 3, _hot, deterministic=True)
    up, down = "rm_ideas.up + s.up", "rm_ideas.down + s.down"
    cur.execute(
        f"UPDATE rm_ideas SET up = {up}, down = {down}, wilson = openjam_wilson({up}, {down}), "
        f"hot = openjam_hot({up}, {down}, rm_ideas.posted_at), "
        "last_activity_at = max(rm_ideas.last_activity_at, s.last_activity_at) "
        f"FROM {alias}.rm_ideas AS s "
        "WHERE s.idea_id = rm_ideas.idea_id AND s.last_activity_at <> ''"
    )
    cur.execute(
        "UPDATE rm_participants SET votes = rm_participants.votes + s.votes, "
        "last_active_at = CASE WHEN rm_participants.last_active_at IS NULL "
        "OR rm_participants.last_active_at < s.last_active_at THEN s.last_active_at "
        f"ELSE rm_participants.last_active_at END FROM {alias}.rm_participants AS s "
        "WHERE s.participant_id = rm_participants.participant_id "
        "AND s.last_active_at IS NOT NULL"
    )
    cur.execute(
        f"INSERT INTO rm_updates SELECT * FROM {alias}.rm_updates WHERE true "
        "ON CONFLICT (position, item_id, jam_id) DO NOTHING"
    )
    # The feed keeps the last `feed_retention` positions of the whole log, as a
    # follower's would: each process kept them counting from its own last note.
    last = cur.execute("SELECT MAX(position) FROM rm_updates").fetchone()
    if last and last[0] is not None:
        cur.execute("DELETE FROM rm_updates WHERE position <= ?", (last[0] - feed_retention,))


def _hot(up: int, down: int, posted_at: str) -> float:
    return hot(up, down, datetime.fromisoformat(posted_at))


def project_share(job: _Job) -> None:
    """The second process: project the share's events into a database of its own."""
    reader = job.log.open()
    views = SQLiteViews(Path(job.path), scratch=True)
    try:
        with views.transaction() as cur:
            create_tables(cur)
            drop_indexes(cur)
        ideas, placeholders = _placeholders(reader, job.log.views_decoder, job.end)
        projector = Projector(job.log.views_decoder, feed_retention=job.feed_retention)
        projector.assume_ideas(ideas, 0)
        read = partial(reader.select_rows, stop=job.end, share=job.share)
        with views.bulk_load(), without_cycle_collection(), quick_turns():
            project_pages(
                read,
                views,
                projector,
                after=0,
                total=job.end,
                largest=job.largest,
                feed_from=job.feed_from,
                publish=False,
                committed=_nothing,
                first=placeholders,
            )
    finally:
        views.close()
        with contextlib.suppress(Exception):
            reader.close()


def _nothing(position: int, updates: list[Any]) -> None:
    """Nothing is announced for a share's pages: the merge completes them."""


def _placeholders(
    reader: Any, decoder_for: DecoderFor, end: int
) -> tuple[list[tuple[str, str, str, datetime]], list[Statement]]:
    """Every idea (id, jam, forum, posted at) and person up to `end`, and the
    statements that write their rows with nothing counted yet (written by the
    writer thread while the first page is gathered)."""
    decode = decoder_for(_IdeaPlace)
    ideas: list[tuple[str, str, str, datetime]] = []
    rows: list[tuple[Any, ...]] = []
    for position, idea_id, state in reader.of_topic(get_topic(Idea.Posted), end):
        e = decode(state)
        ideas.append((idea_id, e.jam_id, e.forum, e.timestamp))
        rows.append((idea_id, e.jam_id, e.forum, "", "", "", "", iso(e.timestamp), "", position))
    people = [
        (pid, "", "", "", "") for _, pid, _ in reader.of_topic(get_topic(Participant.Joined), end)
    ]
    writes: list[Statement] = [
        (
            "INSERT INTO rm_ideas (idea_id, jam_id, forum, author_id, author_segment, title, "
            "body, posted_at, last_activity_at, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sorted(rows),
        ),
        (
            "INSERT INTO rm_participants (participant_id, display_name, segment, role, "
            "joined_at) VALUES (?, ?, ?, ?, ?)",
            sorted(people),
        ),
    ]
    return ideas, writes


if __name__ == "__main__":
    project_share(pickle.load(sys.stdin.buffer))  # noqa: S301 (written by the parent process)
