"""Reading the read models. Every function takes a cursor from `ViewDatabase.reading()`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from projections.db import Cursor
from projections.models import (
    Activity,
    CommentNode,
    FlaggedIdea,
    Forum,
    ForumTotals,
    IdeaLink,
    IdeaSummary,
    JamCentral,
    JamInfo,
    LiveUpdate,
    MinuteActivity,
    ModerationAction,
    ModerationQueue,
    SegmentTally,
    SegmentTotals,
    Thread,
    Touched,
)
from projections.projector import FEED_RETENTION, TRACKING_NAME

SORTS = {
    "new": "i.posted_at DESC, i.idea_id",
    "top": "i.wilson DESC, i.posted_at DESC, i.idea_id",
    "hot": "i.hot DESC, i.idea_id",
    "discussed": "i.comments DESC, i.last_activity_at DESC, i.idea_id",
}
_SCORE = {"new": "i.wilson", "top": "i.wilson", "hot": "i.hot", "discussed": "i.comments"}
_IDEA_COLUMNS = (
    "i.idea_id, i.jam_id, i.forum, i.title, i.author_id, COALESCE(p.display_name, ''), "
    "i.author_segment, i.posted_at, i.up, i.down, i.comments, {score}, i.hidden, "
    "i.duplicate_of, i.decision"
)
_IDEA_FROM = "FROM rm_ideas i LEFT JOIN rm_participants p ON p.participant_id = i.author_id"


class UnknownSort(ValueError):
    pass


_json_rows = msgspec.json.Decoder(list[list[Any]])
_wrapped: dict[str, str] = {}


def _all(cur: Cursor, sql: str, params: Sequence[Any]) -> list[Any]:
    """The rows of `sql` (no column a BLOB), as lists, in their order; on SQLite a REAL
    comes as its text (callers that read one take `float()` of it).

    On SQLite they come in one step, as one JSON array that SQLite builds. Row by row,
    Python's driver lets go of the interpreter lock for every row, and in a busy web
    process each time it takes another thread's turn to get it back: a thread with 30
    comments, or a participant's few hundred votes, cost as many waits.
    """
    if not isinstance(cur, sqlite3.Cursor):
        return cur.execute(sql, params).fetchall()
    wrapped = _wrapped.get(sql)
    if wrapped is None:
        # The query's columns, once per query: its text fixes them, whatever the values.
        width = len(cur.execute(f"SELECT * FROM ({sql}) LIMIT 0", params).description)
        names = [f"c{i}" for i in range(width)]
        # JSON would round a REAL to 15 digits: it comes as text with all 17 instead.
        values = ",".join(
            f"CASE WHEN typeof({n}) = 'real' THEN printf('%!.17g', {n}) ELSE {n} END" for n in names
        )
        # MATERIALIZED: the rows are kept in the query's order, and aggregated in it.
        wrapped = _wrapped[sql] = (
            f"WITH q({','.join(names)}) AS MATERIALIZED ({sql}) "
            f"SELECT json_group_array(json_array({values})) FROM q"
        )
    (text,) = cur.execute(wrapped, params).fetchone()
    return _json_rows.decode(text)


def position(cur: Cursor) -> int:
    row = cur.execute(
        "SELECT position FROM rm_tracking WHERE name = ?", (TRACKING_NAME,)
    ).fetchone()
    return int(row[0]) if row else 0


def _summary(row: tuple[Any, ...]) -> IdeaSummary:
    return IdeaSummary(
        id=row[0],
        jam_id=row[1],
        forum=row[2],
        title=row[3],
        author_id=row[4],
        author_name=row[5],
        author_segment=row[6],
        posted_at=row[7],
        up=row[8],
        down=row[9],
        comments=row[10],
        score=float(row[11]),
        hidden=bool(row[12]),
        duplicate_of=row[13],
        decision=row[14],
    )


def ideas(
    cur: Cursor,
    jam_id: str,
    *,
    forum: str | None = None,
    sort: str = "new",
    include_hidden: bool = False,
    limit: int = 50,
    offset: int = 0,
    after_idea: tuple[str, str] | None = None,
) -> list[IdeaSummary]:
    """An idea list: hidden ideas only for those who may see them (organizers).

    `after_idea` (posted_at, idea_id), for the newest first: the ideas after that one, so
    a page follows the last one shown whatever was posted or hidden since.
    """
    if sort not in SORTS:
        raise UnknownSort(f"sort must be one of {', '.join(SORTS)}")
    where, params = ["i.jam_id = ?"], [jam_id]
    if after_idea is not None:
        if sort != "new":
            raise UnknownSort("only the newest-first order pages after an idea")
        where.append("(i.posted_at < ? OR (i.posted_at = ? AND i.idea_id > ?))")
        params.extend([after_idea[0], after_idea[0], after_idea[1]])
    if forum is not None:
        where.append("i.forum = ?")
        params.append(forum)
    if not include_hidden:
        where.append("i.hidden = 0")
    sql = (
        f"SELECT {_IDEA_COLUMNS.format(score=_SCORE[sort])} {_IDEA_FROM} "
        f"WHERE {' AND '.join(where)} ORDER BY {SORTS[sort]} LIMIT ? OFFSET ?"
    )
    return [_summary(r) for r in _all(cur, sql, (*params, limit, offset))]


def jam_info(cur: Cursor, jam_id: str) -> JamInfo | None:
    row = cur.execute(
        "SELECT jam_id, title, description, forums, starts_at, ends_at, closed_at, alert, "
        "close_reason FROM rm_jams WHERE jam_id = ?",
        (jam_id,),
    ).fetchone()
    if row is None:
        return None
    forums = [Forum(**f) for f in json.loads(row[3])]
    return JamInfo(row[0], row[1], row[2], forums, row[4], row[5], row[6], row[7], row[8] or "")


def jam_list(cur: Cursor) -> list[JamInfo]:
    rows = cur.execute("SELECT jam_id FROM rm_jams ORDER BY starts_at DESC").fetchall()
    return [info for (jam_id,) in rows if (info := jam_info(cur, jam_id)) is not None]


def segment_tallies(cur: Cursor, idea_ids: list[str]) -> dict[str, list[SegmentTally]]:
    """Support per segment for many ideas at once (for the shortlist)."""
    found: dict[str, list[SegmentTally]] = {i: [] for i in idea_ids}
    for start in range(0, len(idea_ids), 500):
        chunk = idea_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for idea_id, segment, up, down in cur.execute(
            f"SELECT idea_id, segment, up, down FROM rm_idea_segments WHERE idea_id IN ({marks}) "
            "ORDER BY idea_id, segment",
            chunk,
        ).fetchall():
            found[idea_id].append(SegmentTally(segment, up, down))
    return found


def jam_of_idea(cur: Cursor, idea_id: str) -> str | None:
    row = cur.execute("SELECT jam_id FROM rm_ideas WHERE idea_id = ?", (idea_id,)).fetchone()
    return row[0] if row else None


def thread(
    cur: Cursor, idea_id: str, *, include_hidden: bool = False, author: str | None = None
) -> Thread | None:
    """An idea with its nested comments; hidden items only for organizers. A hidden idea is
    read for its `author` too, with the organizer's reason (its hidden comments are not)."""
    row = cur.execute(
        f"SELECT {_IDEA_COLUMNS.format(score='i.wilson')}, i.body, i.edited_at, i.hidden_reason, "
        f"i.decision_note {_IDEA_FROM} WHERE i.idea_id = ?",
        (idea_id,),
    ).fetchone()
    if row is None:
        return None
    own_hidden = bool(row[12]) and author is not None and row[4] == author
    if row[12] and not (include_hidden or own_hidden):
        return None
    segments = [
        SegmentTally(*r)
        for r in _all(
            cur,
            "SELECT segment, up, down FROM rm_idea_segments WHERE idea_id = ? ORDER BY segment",
            (idea_id,),
        )
    ]
    nodes: dict[str, CommentNode] = {}
    parents: list[tuple[CommentNode, str | None]] = []
    for c in _all(
        cur,
        "SELECT c.comment_id, c.parent_id, c.author_id, COALESCE(p.display_name, ''), "
        "c.author_segment, c.body, c.posted_at, c.edited_at, c.hidden, c.position, "
        "c.hidden_reason "
        "FROM rm_comments c LEFT JOIN rm_participants p ON p.participant_id = c.author_id "
        "WHERE c.idea_id = ? ORDER BY c.posted_at, c.position",
        (idea_id,),
    ):
        hidden = bool(c[8])
        node = CommentNode(
            id=c[0],
            author_id=c[2],
            author_name=c[3],
            author_segment=c[4],
            # A hidden comment keeps its place so replies stay in context.
            body="" if hidden and not include_hidden else c[5],
            posted_at=c[6],
            edited_at=c[7],
            hidden=hidden,
            hidden_reason=c[10] if hidden and include_hidden else "",
        )
        nodes[c[0]] = node
        parents.append((node, c[1]))
    roots: list[CommentNode] = []
    # Linked after all are read: a reply may carry the same time as its parent.
    for node, parent_id in parents:
        parent = nodes.get(parent_id) if parent_id else None
        (parent.replies if parent else roots).append(node)
    duplicates = cur.execute(
        "SELECT idea_id, title FROM rm_ideas WHERE duplicate_of = ? AND hidden = 0 "
        "ORDER BY posted_at, idea_id",
        (idea_id,),
    ).fetchall()
    summary = _summary(row)
    return Thread(
        idea=summary,
        body=row[15],
        edited_at=row[16],
        hidden_reason=row[17] if include_hidden or own_hidden else "",
        decision_note=row[18],
        segments=segments,
        comments=roots,
        duplicates=[IdeaLink(r[0], r[1]) for r in duplicates],
        original_hidden=_is_hidden(cur, summary.duplicate_of),
    )


def _is_hidden(cur: Cursor, idea_id: str | None) -> bool:
    if idea_id is None:
        return False
    row = cur.execute("SELECT hidden FROM rm_ideas WHERE idea_id = ?", (idea_id,)).fetchone()
    return bool(row and row[0])


def hidden_from(cur: Cursor, idea_id: str, reader_id: str) -> bool:
    """Whether the idea is hidden now and `reader_id` is not its author."""
    row = cur.execute(
        "SELECT hidden, author_id FROM rm_ideas WHERE idea_id = ?", (idea_id,)
    ).fetchone()
    return bool(row and row[0] and row[1] != reader_id)


def jam_central(cur: Cursor, jam_id: str, now: datetime) -> JamCentral:
    """Jam Central: who is here, how busy it is, by segment, forum and minute.

    "Recent" is five minutes as activity is counted, a minute at a time: the four before
    this one and this one so far. The rates divide by that span (the whole of six
    minutes' counts divided by five came out up to a fifth too high), and the people
    active are those active within it, so that both figures speak of one span of time.
    """
    this_minute = now.replace(second=0, microsecond=0)
    window = this_minute - timedelta(minutes=4)
    span = (now - window).total_seconds() / 60  # 4 to 5 minutes
    since = window.isoformat(timespec="microseconds")
    participants, staff, active = cur.execute(
        "SELECT COALESCE(SUM(CASE WHEN role = 'participant' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN role = 'participant' THEN 0 ELSE 1 END), 0), "
        "COALESCE(SUM(CASE WHEN last_active_at >= ? THEN 1 ELSE 0 END), 0) "
        "FROM rm_participants WHERE jam_id = ?",
        (since, jam_id),
    ).fetchone() or (0, 0, 0)
    minutes = [
        MinuteActivity(*r)
        for r in cur.execute(
            "SELECT minute, ideas, comments, votes, joins FROM rm_minutes WHERE jam_id = ? "
            "ORDER BY minute",
            (jam_id,),
        ).fetchall()
    ]
    first, end = window.isoformat()[:16], this_minute.isoformat()[:16]
    recent = [m for m in minutes if first <= m.minute <= end]
    busy = active or any(m.ideas or m.comments or m.votes for m in recent)
    # The figures change by themselves as time passes, a minute leaving the span at the
    # next one: an open page reads them again then (with nothing recent, they stay nought).
    changes_at = (this_minute + timedelta(minutes=1)).isoformat() if busy else None
    return JamCentral(
        jam_id=jam_id,
        position=position(cur),
        participants=int(participants),
        staff=int(staff),
        active_last_5_minutes=int(active),
        figures_change_at=changes_at,
        ideas_per_minute=sum(m.ideas for m in recent) / span,
        comments_per_minute=sum(m.comments for m in recent) / span,
        votes_per_minute=sum(m.votes for m in recent) / span,
        segments=[
            SegmentTotals(*r)
            for r in cur.execute(
                "SELECT segment, participants, ideas, comments, votes FROM rm_segments "
                "WHERE jam_id = ? ORDER BY segment",
                (jam_id,),
            ).fetchall()
        ],
        forums=[
            ForumTotals(*r)
            for r in cur.execute(
                "SELECT forum, ideas, comments, votes FROM rm_forums WHERE jam_id = ? "
                "ORDER BY forum",
                (jam_id,),
            ).fetchall()
        ],
        minutes=minutes,
    )


def moderation_queue(cur: Cursor, jam_id: str) -> ModerationQueue:
    """Flagged ideas: hidden ones with all their flags, visible ones with the flags since an
    organizer last reviewed them (restored, or dismissed the flags; not listed until flagged
    again)."""
    restored = dict(
        cur.execute(
            "SELECT target_id, MAX(position) FROM rm_moderation WHERE jam_id = ? "
            "AND target_kind = 'idea' AND action IN ('restore', 'dismiss') GROUP BY target_id",
            (jam_id,),
        ).fetchall()
    )
    flagged: dict[str, FlaggedIdea] = {}
    for idea_id, title, hidden, reason, position in cur.execute(
        "SELECT f.idea_id, i.title, i.hidden, f.reason, f.position FROM rm_flags f "
        "JOIN rm_ideas i ON i.idea_id = f.idea_id WHERE f.jam_id = ? "
        "ORDER BY f.idea_id, f.position",
        (jam_id,),
    ).fetchall():
        if not hidden and position < restored.get(idea_id, 0):
            continue  # reviewed since this flag
        item = flagged.get(idea_id)
        if item is None:
            item = flagged[idea_id] = FlaggedIdea(idea_id, title, 0, [], bool(hidden))
        flagged[idea_id] = FlaggedIdea(
            idea_id, title, item.flags + 1, [*item.reasons, reason], bool(hidden)
        )
    actions = [
        ModerationAction(*r)
        for r in cur.execute(
            "SELECT position, target_kind, target_id, action, reason, actor_id, at "
            "FROM rm_moderation WHERE jam_id = ? ORDER BY position DESC LIMIT 200",
            (jam_id,),
        ).fetchall()
    ]
    queue = sorted(flagged.values(), key=lambda f: (f.hidden, -f.flags, f.idea_id))
    return ModerationQueue(flagged=queue, actions=actions)


# An idea an organizer hid keeps its title from everyone but its author (the title is
# often what was hidden): listed, it is said to be hidden, untitled.
_TITLE_FOR_READER = "CASE WHEN i.hidden = 1 AND i.author_id <> ? THEN '' ELSE i.title END"


def commented_on(cur: Cursor, participant_id: str, limit: int = 200) -> list[Touched]:
    """The ideas a participant commented on, the latest first, with how many comments."""
    return _touched(
        cur,
        f"SELECT c.idea_id, {_TITLE_FOR_READER}, i.hidden, COUNT(*), MAX(c.posted_at) AS latest "
        "FROM rm_comments c JOIN rm_ideas i ON i.idea_id = c.idea_id WHERE c.author_id = ? "
        "GROUP BY c.idea_id, i.title, i.hidden, i.author_id ORDER BY latest DESC, c.idea_id "
        "LIMIT ?",
        (participant_id, participant_id, limit),
    )


def voted_on(cur: Cursor, participant_id: str, limit: int = 200) -> list[Touched]:
    """The ideas a participant has a standing vote on, the latest first (count: the vote)."""
    return _touched(
        cur,
        f"SELECT v.idea_id, {_TITLE_FOR_READER}, i.hidden, v.value FROM rm_votes v "
        "JOIN rm_ideas i ON i.idea_id = v.idea_id WHERE v.participant_id = ? AND v.value <> 0 "
        "ORDER BY v.updated_at DESC, v.idea_id LIMIT ?",
        (participant_id, participant_id, limit),
    )


def _touched(cur: Cursor, sql: str, args: tuple[Any, ...]) -> list[Touched]:
    return [Touched(r[0], r[1], bool(r[2]), int(r[3])) for r in cur.execute(sql, args).fetchall()]


def vote_value(cur: Cursor, vote_id: str) -> int | None:
    """A participant's standing vote on an idea (by the vote's id): 1, -1, 0 (passed) or
    None (none, or withdrawn)."""
    row = cur.execute("SELECT value FROM rm_votes WHERE vote_id = ?", (vote_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def flag_state(cur: Cursor, idea_id: str, participant_id: str) -> str | None:
    """Where the reader's flag of the idea stands: "open" if they flagged it since an
    organizer last reviewed it (restored it, or dismissed its flags): the idea takes no
    second flag from them; "reviewed" if their flag came before that review (they may flag
    it again); None if they never flagged it."""
    row = cur.execute(
        "SELECT MAX(position) > COALESCE((SELECT MAX(position) FROM rm_moderation "
        "WHERE target_kind = 'idea' AND target_id = ? AND action IN ('restore', 'dismiss')), 0) "
        "FROM rm_flags WHERE idea_id = ? AND flagged_by = ?",
        (idea_id, idea_id, participant_id),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return "open" if row[0] else "reviewed"


def is_blocked(cur: Cursor, participant_id: str) -> bool:
    row = cur.execute(
        "SELECT blocked FROM rm_participants WHERE participant_id = ?", (participant_id,)
    ).fetchone()
    return bool(row and row[0])


def activity(cur: Cursor, participant_id: str) -> Activity | None:
    person = cur.execute(
        "SELECT display_name, segment, role FROM rm_participants WHERE participant_id = ?",
        (participant_id,),
    ).fetchone()
    if person is None:
        return None
    own = _all(
        cur,
        f"SELECT {_IDEA_COLUMNS.format(score='i.wilson')} {_IDEA_FROM} "
        "WHERE i.author_id = ? ORDER BY i.posted_at DESC",
        (participant_id,),
    )
    comments = _all(
        cur,
        "SELECT comment_id, hidden FROM rm_comments WHERE author_id = ? ORDER BY posted_at DESC",
        (participant_id,),
    )
    votes = _all(
        cur,
        "SELECT idea_id, value FROM rm_votes WHERE participant_id = ? AND value <> 0 "
        "ORDER BY idea_id",
        (participant_id,),
    )
    return Activity(
        participant_id=participant_id,
        display_name=person[0],
        segment=person[1],
        role=person[2],
        ideas=[_summary(r) for r in own],
        comment_ids=[r[0] for r in comments],
        votes={r[0]: r[1] for r in votes},
        hidden_comment_ids=[r[0] for r in comments if r[1]],
    )


UPDATES_PAGE = 500


def feed_floor(cur: Cursor, retention: int = FEED_RETENTION) -> int:
    """Updates at or below this position may have left the live feed (its retention)."""
    return max(0, position(cur) - retention)


# Kinds of update about a whole jam that its threads show too (their schedule and alert,
# whether their reader may still write, and people's names).
JAM_WIDE = ("jam", "alert", "blocked", "renamed")


def updates_after(
    cur: Cursor,
    after: int,
    *,
    jam_id: str | None = None,
    idea_id: str | None = None,
    jam_wide: str | None = None,
    limit: int = UPDATES_PAGE,
) -> list[LiveUpdate]:
    """The live feed after a position, for a jam or a thread (with `jam_wide`, its jam's
    updates of the JAM_WIDE kinds too): what a reconnecting client missed.

    About `limit` updates: a page ends with the whole of its last position (one event can
    change several things), since whoever reads on asks for what is after it."""
    column, value = ("idea_id", idea_id) if idea_id else ("jam_id", jam_id)
    where, params = f"{column} = ?", [value]
    if jam_wide is not None:
        kinds = ", ".join("?" * len(JAM_WIDE))
        where = f"({where} OR (jam_id = ? AND idea_id IS NULL AND kind IN ({kinds})))"
        params += [jam_wide, *JAM_WIDE]
    select = f"SELECT position, jam_id, kind, item_id, idea_id FROM rm_updates WHERE {where}"
    rows = cur.execute(
        f"{select} AND position > ? ORDER BY position, item_id LIMIT ?", (*params, after, limit)
    ).fetchall()
    if rows and len(rows) == limit:
        last = rows[-1][0]
        rows = [r for r in rows if r[0] != last] + cur.execute(
            f"{select} AND position = ? ORDER BY item_id", (*params, last)
        ).fetchall()
    return [LiveUpdate(*r) for r in rows]
