"""The ranking worker's read models: topic clusters, their history, the ranking, duplicates.

Written only by the ranking worker, from the other read models and the log;
dropped and recomputed when their shape changes. Results are stored as JSON of
the `ranking.model` structs, because they are read whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import chain
from typing import NamedTuple

import msgspec

from projections import queries
from projections.db import Cursor
from ranking.model import (
    Cluster,
    ClusterEdit,
    CommentRow,
    DuplicatePair,
    IdeaRow,
    JamSnapshot,
    ParticipantRow,
    Ranking,
    Topics,
    VoteRow,
)

RANKING_TRACKING = "openjam-ranking"
RANKING_SCHEMA_MARK = f"{RANKING_TRACKING}:schema"
RANKING_SCHEMA_VERSION = 1

TABLES: dict[str, str] = {
    # How far this worker has read the log, and the shape of its tables.
    "rk_tracking": "name TEXT PRIMARY KEY, position BIGINT NOT NULL",
    # Organizers' decisions about clusters, as the log recorded them.
    "rk_cluster_edits": (
        "position BIGINT PRIMARY KEY, jam_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "cluster_id TEXT NOT NULL, label TEXT NOT NULL, target_id TEXT NOT NULL, "
        "ideas TEXT NOT NULL, at TEXT NOT NULL"
    ),
    # The latest refresh per jam (clusters only; the assignment is in rk_idea_topics).
    "rk_topics": (
        "jam_id TEXT PRIMARY KEY, position BIGINT NOT NULL, as_of TEXT NOT NULL, "
        "method TEXT NOT NULL, next_id INTEGER NOT NULL, clusters TEXT NOT NULL"
    ),
    # Each idea's cluster: from the last refresh, or assigned at once since (provisional).
    "rk_idea_topics": (
        "idea_id TEXT PRIMARY KEY, jam_id TEXT NOT NULL, cluster_id TEXT NOT NULL, "
        "provisional INTEGER NOT NULL DEFAULT 0"
    ),
    # The organizer's timeline: the last refresh of every hour of the jam.
    "rk_topic_history": (
        "jam_id TEXT NOT NULL, hour TEXT NOT NULL, position BIGINT NOT NULL, "
        "as_of TEXT NOT NULL, clusters TEXT NOT NULL, PRIMARY KEY (jam_id, hour)"
    ),
    "rk_rankings": (
        "jam_id TEXT PRIMARY KEY, position BIGINT NOT NULL, as_of TEXT NOT NULL, "
        "config_version TEXT NOT NULL, ranking TEXT NOT NULL"
    ),
    # Leadership's decisions on each idea, in order: the evidence keeps their history.
    "rk_decisions": (
        "position BIGINT PRIMARY KEY, idea_id TEXT NOT NULL, decision TEXT NOT NULL, "
        "note TEXT NOT NULL, decided_by TEXT NOT NULL, at TEXT NOT NULL"
    ),
    "rk_duplicate_pairs": (
        "jam_id TEXT NOT NULL, idea_id TEXT NOT NULL, original_id TEXT NOT NULL, "
        "similarity DOUBLE PRECISION NOT NULL, PRIMARY KEY (jam_id, idea_id, original_id)"
    ),
}
INDEXES = (
    "CREATE INDEX IF NOT EXISTS rk_idea_topics_jam ON rk_idea_topics (jam_id, cluster_id)",
    "CREATE INDEX IF NOT EXISTS rk_cluster_edits_jam ON rk_cluster_edits (jam_id, position)",
    "CREATE INDEX IF NOT EXISTS rk_decisions_idea ON rk_decisions (idea_id, position)",
)

_clusters = msgspec.json.Decoder(tuple[Cluster, ...])
_ranking = msgspec.json.Decoder(Ranking)


def prepare(cur: Cursor) -> bool:
    """Create the tables; drop and recreate them if their shape changed. True if emptied."""
    cur.execute(f"CREATE TABLE IF NOT EXISTS rk_tracking ({TABLES['rk_tracking']})")
    found = cur.execute(
        "SELECT position FROM rk_tracking WHERE name = ?", (RANKING_SCHEMA_MARK,)
    ).fetchone()
    emptied = found is None or found[0] != RANKING_SCHEMA_VERSION
    if emptied:
        for name in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
    for name, columns in TABLES.items():
        cur.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
    if emptied:
        cur.execute(
            "INSERT INTO rk_tracking (name, position) VALUES (?, ?)",
            (RANKING_SCHEMA_MARK, RANKING_SCHEMA_VERSION),
        )
    for statement in INDEXES:
        cur.execute(statement)
    return emptied


def clear(cur: Cursor) -> None:
    for name in TABLES:
        if name != "rk_tracking":
            cur.execute(f"DELETE FROM {name}")
    cur.execute("DELETE FROM rk_tracking WHERE name = ?", (RANKING_TRACKING,))


# --- Following the log for organizers' decisions -------------------------------


def edits_position(cur: Cursor) -> int:
    row = cur.execute(
        "SELECT position FROM rk_tracking WHERE name = ?", (RANKING_TRACKING,)
    ).fetchone()
    return int(row[0]) if row else 0


class DecisionRow(msgspec.Struct, frozen=True):
    position: int
    idea_id: str
    decision: str
    note: str
    decided_by: str
    at: str
    decided_by_name: str = ""  # as the leader's name reads now


def record_edits(
    cur: Cursor,
    edits: Iterable[tuple[int, str, ClusterEdit]],
    decisions: Iterable[DecisionRow],
    position: int,
) -> None:
    """Store organizers' and leaders' decisions and the log position they were read to."""
    cur.executemany(
        "INSERT INTO rk_decisions (position, idea_id, decision, note, decided_by, at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING",
        [(d.position, d.idea_id, d.decision, d.note, d.decided_by, d.at) for d in decisions],
    )
    cur.executemany(
        "INSERT INTO rk_cluster_edits (position, jam_id, kind, cluster_id, label, target_id, "
        "ideas, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING",
        [
            (p, jam, e.kind, e.cluster_id, e.label, e.target_id, json.dumps(e.ideas), _iso(e.at))
            for p, jam, e in edits
        ],
    )
    cur.execute(
        "INSERT INTO rk_tracking (name, position) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        (RANKING_TRACKING, position),
    )


# --- The snapshot the ranking reads --------------------------------------------


def jams_with_ideas(cur: Cursor) -> list[tuple[str, int]]:
    """Each jam with ideas, and the log position of its newest idea."""
    rows = cur.execute("SELECT jam_id, MAX(position) FROM rm_ideas GROUP BY jam_id").fetchall()
    return sorted((str(j), int(p)) for j, p in rows)


def newest_idea(cur: Cursor, jam_id: str) -> int:
    row = cur.execute("SELECT MAX(position) FROM rm_ideas WHERE jam_id = ?", (jam_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def read_edits(cur: Cursor, jam_id: str, position: int) -> tuple[ClusterEdit, ...]:
    return tuple(
        ClusterEdit(
            kind=r[0],
            cluster_id=r[1],
            label=r[2],
            target_id=r[3],
            ideas=tuple(json.loads(r[4])),
            at=_dt(r[5]),
        )
        for r in cur.execute(
            "SELECT kind, cluster_id, label, target_id, ideas, at FROM rk_cluster_edits "
            "WHERE jam_id = ? AND position <= ? ORDER BY position",
            (jam_id, position),
        ).fetchall()
    )


def read_snapshot(
    cur: Cursor,
    jam_id: str,
    position: int | None = None,
    edits: tuple[ClusterEdit, ...] | None = None,
) -> JamSnapshot:
    """Everything the ranking needs of one jam, as the read models hold it now.

    `as_of` is the latest time the snapshot itself records, so it follows from
    the log, never from the clock of the machine reading it.
    """
    if position is None:
        position = queries.position(cur)
    # A jam's ids recur in every vote and comment: one text object each, not one per
    # row (at 10 million votes, a saving of gigabytes). Rows are read as they come.
    one = {}.setdefault
    ideas = tuple(
        IdeaRow(
            id=one(r[0], r[0]),
            forum=r[1],
            author_id=one(r[2], r[2]),
            author_segment=r[3],
            title=r[4],
            body=r[5],
            posted_at=_dt(r[6]),
            hidden=bool(r[7]),
            duplicate_of=r[8],
            decision=r[9],
        )
        for r in cur.execute(
            "SELECT idea_id, forum, author_id, author_segment, title, body, posted_at, hidden, "
            "duplicate_of, decision FROM rm_ideas WHERE jam_id = ? ORDER BY position, idea_id",
            (jam_id,),
        )
    )
    votes = tuple(
        VoteRow(
            idea_id=one(r[0], r[0]), participant_id=one(r[1], r[1]), value=int(r[2]), at=_dt(r[3])
        )
        for r in cur.execute(
            "SELECT idea_id, participant_id, value, updated_at FROM rm_votes WHERE jam_id = ? "
            "AND value IS NOT NULL ORDER BY idea_id, participant_id",  # withdrawn: no vote
            (jam_id,),
        )
    )
    participants = tuple(
        ParticipantRow(id=one(r[0], r[0]), segment=r[1], joined_at=_dt(r[2]))
        for r in cur.execute(
            "SELECT participant_id, segment, joined_at FROM rm_participants WHERE jam_id = ? "
            "ORDER BY participant_id",
            (jam_id,),
        )
    )
    comments = tuple(
        CommentRow(
            idea_id=one(r[0], r[0]), author_id=one(r[1], r[1]), at=_dt(r[2]), hidden=bool(r[3])
        )
        for r in cur.execute(
            "SELECT idea_id, author_id, posted_at, hidden FROM rm_comments WHERE jam_id = ? "
            "ORDER BY position",
            (jam_id,),
        )
    )
    if edits is None:
        edits = read_edits(cur, jam_id, position)
    # Hiding or restoring an idea or a comment, and marking duplicates, change the ranking
    # too: a ranking changed by one is as of its time. (Dismissed flags and blocks do not:
    # the time is also the ranking's "now", from which trends are counted.)
    moderated = cur.execute(
        "SELECT MAX(at) FROM rm_moderation WHERE jam_id = ? AND target_kind IN ('idea', "
        "'comment') AND action IN ('hide', 'restore', 'duplicate', 'not-duplicate')",
        (jam_id,),
    ).fetchone()[0]
    times = chain(
        (i.posted_at for i in ideas),
        (v.at for v in votes),
        (c.at for c in comments),
        (p.joined_at for p in participants),
        (e.at for e in edits),
        () if moderated is None else (_dt(moderated),),
    )
    return JamSnapshot(
        jam_id=jam_id,
        position=position,
        as_of=max(times, default=datetime.fromtimestamp(0, tz=UTC)),
        ideas=ideas,
        votes=votes,
        participants=participants,
        comments=comments,
        edits=edits,
    )


# --- Writing the results ---------------------------------------------------------


def store_topics(cur: Cursor, jam_id: str, topics: Topics) -> None:
    clusters = msgspec.json.encode(topics.clusters).decode()
    as_of = _iso(topics.as_of)
    cur.execute(
        "INSERT INTO rk_topics (jam_id, position, as_of, method, next_id, clusters) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (jam_id) DO UPDATE SET "
        "position = excluded.position, as_of = excluded.as_of, method = excluded.method, "
        "next_id = excluded.next_id, clusters = excluded.clusters",
        (jam_id, topics.position, as_of, topics.method, topics.next_id, clusters),
    )
    cur.execute(
        "INSERT INTO rk_topic_history (jam_id, hour, position, as_of, clusters) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (jam_id, hour) DO UPDATE SET "
        "position = excluded.position, as_of = excluded.as_of, clusters = excluded.clusters",
        (jam_id, as_of[:13], topics.position, as_of, clusters),
    )
    cur.execute("DELETE FROM rk_idea_topics WHERE jam_id = ?", (jam_id,))
    cur.executemany(
        "INSERT INTO rk_idea_topics (idea_id, jam_id, cluster_id, provisional) VALUES (?, ?, ?, 0)",
        [(idea, jam_id, cid) for idea, cid in topics.assignment.items()],
    )


def assign_provisionally(cur: Cursor, jam_id: str, assigned: dict[str, str]) -> None:
    cur.executemany(
        "INSERT INTO rk_idea_topics (idea_id, jam_id, cluster_id, provisional) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (idea_id) DO NOTHING",
        [(idea, jam_id, cid) for idea, cid in assigned.items()],
    )


def store_ranking(cur: Cursor, jam_id: str, ranking: Ranking) -> None:
    cur.execute(
        "INSERT INTO rk_rankings (jam_id, position, as_of, config_version, ranking) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (jam_id) DO UPDATE SET position = excluded.position, "
        "as_of = excluded.as_of, config_version = excluded.config_version, "
        "ranking = excluded.ranking",
        (
            jam_id,
            ranking.position,
            _iso(ranking.as_of),
            ranking.config_version,
            msgspec.json.encode(ranking).decode(),
        ),
    )


def store_duplicate_pairs(cur: Cursor, jam_id: str, pairs: Iterable[DuplicatePair]) -> None:
    cur.execute("DELETE FROM rk_duplicate_pairs WHERE jam_id = ?", (jam_id,))
    cur.executemany(
        "INSERT INTO rk_duplicate_pairs (jam_id, idea_id, original_id, similarity) "
        "VALUES (?, ?, ?, ?)",
        [(jam_id, p.idea_id, p.original_id, round(p.similarity, 6)) for p in pairs],
    )


# --- Reading the results (for ui/) ---------------------------------------------------


class TopicsView(msgspec.Struct, frozen=True):
    jam_id: str
    position: int
    as_of: str
    method: str
    clusters: tuple[Cluster, ...]
    counts: dict[str, int]  # cluster id -> ideas now, with those assigned since the refresh


def current_topics(cur: Cursor, jam_id: str) -> TopicsView | None:
    row = cur.execute(
        "SELECT position, as_of, method, clusters FROM rk_topics WHERE jam_id = ?", (jam_id,)
    ).fetchone()
    if row is None:
        return None
    counts = dict(
        cur.execute(
            "SELECT cluster_id, COUNT(*) FROM rk_idea_topics WHERE jam_id = ? GROUP BY cluster_id",
            (jam_id,),
        ).fetchall()
    )
    return TopicsView(jam_id, int(row[0]), row[1], row[2], _clusters.decode(row[3]), counts)


def stored_topics(cur: Cursor, jam_id: str) -> Topics | None:
    """The last refresh's topics with each idea's cluster: what a refresh matches ids to."""
    row = cur.execute(
        "SELECT position, as_of, method, next_id, clusters FROM rk_topics WHERE jam_id = ?",
        (jam_id,),
    ).fetchone()
    if row is None:
        return None
    assignment = dict(
        cur.execute(
            "SELECT idea_id, cluster_id FROM rk_idea_topics WHERE jam_id = ? ORDER BY idea_id",
            (jam_id,),
        ).fetchall()
    )
    return Topics(
        int(row[0]), _dt(row[1]), _clusters.decode(row[4]), assignment, row[2], int(row[3])
    )


def topics_as_of(cur: Cursor, jam_id: str, at: datetime) -> TopicsView | None:
    """The clusters as the last refresh before `at` saw them (hourly history)."""
    row = cur.execute(
        "SELECT position, as_of, clusters FROM rk_topic_history WHERE jam_id = ? AND as_of <= ? "
        "ORDER BY as_of DESC LIMIT 1",
        (jam_id, _iso(at)),
    ).fetchone()
    if row is None:
        return None
    clusters = _clusters.decode(row[2])
    return TopicsView(jam_id, int(row[0]), row[1], "", clusters, {c.id: c.size for c in clusters})


def topic_hours(cur: Cursor, jam_id: str) -> list[str]:
    rows = cur.execute(
        "SELECT as_of FROM rk_topic_history WHERE jam_id = ? ORDER BY hour", (jam_id,)
    ).fetchall()
    return [r[0] for r in rows]


def idea_hours(cur: Cursor, jam_id: str) -> list[str]:
    """The hours (`YYYY-MM-DDTHH`, UTC) in which the jam's ideas were posted, in order."""
    rows = cur.execute(
        "SELECT DISTINCT substr(posted_at, 1, 13) AS hour FROM rm_ideas WHERE jam_id = ? "
        "ORDER BY hour",
        (jam_id,),
    ).fetchall()
    return [r[0] for r in rows]


def cluster_members(cur: Cursor, jam_id: str, cluster_id: str) -> list[str]:
    rows = cur.execute(
        "SELECT idea_id FROM rk_idea_topics WHERE jam_id = ? AND cluster_id = ? ORDER BY idea_id",
        (jam_id, cluster_id),
    ).fetchall()
    return [r[0] for r in rows]


def idea_topics(cur: Cursor, idea_ids: list[str]) -> dict[str, str]:
    if not idea_ids:
        return {}
    marks = ", ".join("?" * len(idea_ids))
    rows = cur.execute(
        f"SELECT idea_id, cluster_id FROM rk_idea_topics WHERE idea_id IN ({marks})", idea_ids
    ).fetchall()
    return dict(rows)


class IdeaCard(NamedTuple):
    """What tells two ideas of the same title apart."""

    title: str
    author_name: str
    posted_at: str
    up: int
    comments: int


def idea_cards(cur: Cursor, idea_ids: list[str]) -> dict[str, IdeaCard]:
    if not idea_ids:
        return {}
    marks = ", ".join("?" * len(idea_ids))
    rows = cur.execute(
        "SELECT i.idea_id, i.title, COALESCE(p.display_name, ''), i.posted_at, i.up, i.comments "
        "FROM rm_ideas i LEFT JOIN rm_participants p ON p.participant_id = i.author_id "
        f"WHERE i.idea_id IN ({marks})",
        idea_ids,
    ).fetchall()
    return {r[0]: IdeaCard(r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows}


def idea_titles(cur: Cursor, idea_ids: list[str], include_hidden: bool = True) -> dict[str, str]:
    """The ideas' titles; without `include_hidden`, none of an idea an organizer has hidden."""
    if not idea_ids:
        return {}
    marks = ", ".join("?" * len(idea_ids))
    shown = "" if include_hidden else " AND hidden = 0"
    rows = cur.execute(
        f"SELECT idea_id, title FROM rm_ideas WHERE idea_id IN ({marks}){shown}", idea_ids
    ).fetchall()
    return dict(rows)


def ranking(cur: Cursor, jam_id: str) -> Ranking | None:
    row = cur.execute("SELECT ranking FROM rk_rankings WHERE jam_id = ?", (jam_id,)).fetchone()
    return None if row is None else _ranking.decode(row[0])


def decisions(cur: Cursor, idea_ids: list[str]) -> dict[str, list[DecisionRow]]:
    """Each idea's decisions, oldest first."""
    if not idea_ids:
        return {}
    marks = ", ".join("?" * len(idea_ids))
    rows = cur.execute(
        "SELECT d.position, d.idea_id, d.decision, d.note, d.decided_by, d.at, "
        "COALESCE(p.display_name, '') FROM rk_decisions d "
        "LEFT JOIN rm_participants p ON p.participant_id = d.decided_by "
        f"WHERE d.idea_id IN ({marks}) ORDER BY d.position",
        idea_ids,
    ).fetchall()
    out: dict[str, list[DecisionRow]] = {}
    for r in rows:
        out.setdefault(r[1], []).append(DecisionRow(int(r[0]), *r[1:]))
    return out


def ranking_position(cur: Cursor, jam_id: str) -> int:
    row = cur.execute("SELECT position FROM rk_rankings WHERE jam_id = ?", (jam_id,)).fetchone()
    return int(row[0]) if row else 0


# Kinds of live-feed update that change nothing a ranking reads: decisions are shown from
# the ranking's own record of them (rk_decisions, kept up by every round of the worker),
# and flags, alerts and new display names are not ranked.
UNRANKED_KINDS = ("decision", "flag", "alert", "renamed")
_UNRANKED = ", ".join("?" * len(UNRANKED_KINDS))


def jams_changed(cur: Cursor, after: int, upto: int, jam_id: str | None = None) -> dict[str, int]:
    """Each jam (or only `jam_id`) whose ranked read models changed at a log position in
    (`after`, `upto`], with the last such position; from the live feed."""
    one = " AND jam_id = ?" if jam_id is not None else ""
    rows = cur.execute(
        "SELECT jam_id, MAX(position) FROM rm_updates WHERE position > ? AND position <= ? "
        f"AND kind NOT IN ({_UNRANKED}){one} GROUP BY jam_id",
        (after, upto, *UNRANKED_KINDS, *([jam_id] if jam_id is not None else [])),
    ).fetchall()
    return {str(j): int(p) for j, p in rows}


def ranking_current_to(cur: Cursor, jam_id: str, position: int, retention: int) -> bool:
    """Whether the jam's stored ranking, with its decisions, shows the log up to `position`:
    ranked at or past it, or nothing it ranks changed since (a decision recorded, say).
    `retention` is the live feed's (how far back it tells what changed)."""
    if edits_position(cur) < position:
        return False  # decisions up to there not recorded yet
    ranked = ranking_position(cur, jam_id)
    if ranked >= position:
        return True
    if ranked == 0 or ranked < queries.feed_floor(cur, retention):
        return False  # never ranked, or the feed may have let go of what changed since
    return not jams_changed(cur, ranked, position, jam_id)


def duplicate_pairs(cur: Cursor, jam_id: str, limit: int = 100) -> list[DuplicatePair]:
    """Suggested pairs still worth an organizer's look: neither idea already a duplicate.

    An idea with duplicates of its own stays their original (marking it would make a
    chain): a pair whose later idea is one is offered the other way round, and a pair of
    two such originals is left out."""
    rows = cur.execute(
        "SELECT d.idea_id, d.original_id, d.similarity FROM rk_duplicate_pairs d "
        "JOIN rm_ideas i ON i.idea_id = d.idea_id JOIN rm_ideas o ON o.idea_id = d.original_id "
        "WHERE d.jam_id = ? AND i.duplicate_of IS NULL AND o.duplicate_of IS NULL "
        "AND i.hidden = 0 AND o.hidden = 0 ORDER BY d.similarity DESC, d.idea_id LIMIT ?",
        (jam_id, limit),
    ).fetchall()
    if not rows:
        return []
    ids = sorted({r[0] for r in rows} | {r[1] for r in rows})  # 2 * limit at most
    marks = ", ".join("?" * len(ids))
    originals = {
        r[0]
        for r in cur.execute(
            f"SELECT DISTINCT duplicate_of FROM rm_ideas WHERE duplicate_of IN ({marks})", ids
        ).fetchall()
    }
    pairs = []
    for idea_id, original_id, similarity in rows:
        if idea_id in originals and original_id in originals:
            continue
        if idea_id in originals:
            idea_id, original_id = original_id, idea_id
        pairs.append(DuplicatePair(idea_id, original_id, float(similarity)))
    return pairs


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)
