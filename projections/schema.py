"""Read-model tables. Portable SQL: the same statements run on SQLite and PostgreSQL."""

from __future__ import annotations

from projections.db import Cursor

# Bumped whenever a table changes: read models of another version are dropped and
# rebuilt from the log when a projection starts.
# 4: rm_ideas.changed_position; rm_votes.value NULL once withdrawn; rm_flags by position
# 5: rm_updates notes blocks and unblocks (kind "blocked"), which the threads' streams carry
# 6: rm_updates names a vote by its idea, not the vote (a vote's id tells who voted)
# 7: a rename of an organizer of every jam is noted in each jam they wrote in (rm_updates
#    keyed by jam too)
SCHEMA_VERSION = 8

TABLES: dict[str, str] = {
    "rm_tracking": "name TEXT PRIMARY KEY, position BIGINT NOT NULL",
    "rm_jams": (
        "jam_id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL, "
        "forums TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, "
        "closed_at TEXT, close_reason TEXT NOT NULL DEFAULT '', "
        "alert TEXT NOT NULL DEFAULT '', alert_at TEXT"
    ),
    "rm_participants": (
        "participant_id TEXT PRIMARY KEY, jam_id TEXT, display_name TEXT NOT NULL, "
        "segment TEXT NOT NULL, role TEXT NOT NULL, blocked INTEGER NOT NULL DEFAULT 0, "
        "joined_at TEXT NOT NULL, last_active_at TEXT, "
        "ideas INTEGER NOT NULL DEFAULT 0, comments INTEGER NOT NULL DEFAULT 0, "
        "votes INTEGER NOT NULL DEFAULT 0"
    ),
    # `position` is where an idea was posted and never moves; `changed_position` is where
    # its text, visibility or duplicate link last changed (NULL: never since posted), so
    # followers of what ideas say (the similar-ideas indexes) can read what changed.
    "rm_ideas": (
        "idea_id TEXT PRIMARY KEY, jam_id TEXT NOT NULL, forum TEXT NOT NULL, "
        "author_id TEXT NOT NULL, author_segment TEXT NOT NULL, title TEXT NOT NULL, "
        "body TEXT NOT NULL, posted_at TEXT NOT NULL, edited_at TEXT, "
        "hidden INTEGER NOT NULL DEFAULT 0, hidden_reason TEXT NOT NULL DEFAULT '', "
        "duplicate_of TEXT, decision TEXT, decision_note TEXT NOT NULL DEFAULT '', "
        "up INTEGER NOT NULL DEFAULT 0, down INTEGER NOT NULL DEFAULT 0, "
        "comments INTEGER NOT NULL DEFAULT 0, flags INTEGER NOT NULL DEFAULT 0, "
        "wilson DOUBLE PRECISION NOT NULL DEFAULT 0, hot DOUBLE PRECISION NOT NULL DEFAULT 0, "
        "last_activity_at TEXT NOT NULL, position BIGINT NOT NULL, changed_position BIGINT"
    ),
    "rm_idea_segments": (
        "idea_id TEXT NOT NULL, segment TEXT NOT NULL, up INTEGER NOT NULL DEFAULT 0, "
        "down INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (idea_id, segment)"
    ),
    # value: 1 agree, -1 disagree, 0 a pass (seen, no opinion), NULL withdrawn (no vote:
    # not seen either, as if never cast).
    "rm_votes": (
        "vote_id TEXT PRIMARY KEY, idea_id TEXT NOT NULL, participant_id TEXT NOT NULL, "
        "jam_id TEXT NOT NULL, segment TEXT NOT NULL, value INTEGER, "
        "updated_at TEXT NOT NULL"
    ),
    "rm_comments": (
        "comment_id TEXT PRIMARY KEY, idea_id TEXT NOT NULL, jam_id TEXT NOT NULL, "
        "parent_id TEXT, depth INTEGER NOT NULL, author_id TEXT NOT NULL, "
        "author_segment TEXT NOT NULL, body TEXT NOT NULL, posted_at TEXT NOT NULL, "
        "edited_at TEXT, hidden INTEGER NOT NULL DEFAULT 0, "
        "hidden_reason TEXT NOT NULL DEFAULT '', position BIGINT NOT NULL"
    ),
    "rm_flags": (
        "idea_id TEXT NOT NULL, flagged_by TEXT NOT NULL, jam_id TEXT NOT NULL, "
        "reason TEXT NOT NULL, flagged_at TEXT NOT NULL, position BIGINT NOT NULL, "
        "PRIMARY KEY (idea_id, position)"
    ),
    "rm_moderation": (
        "position BIGINT PRIMARY KEY, jam_id TEXT NOT NULL, target_kind TEXT NOT NULL, "
        "target_id TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL, "
        "actor_id TEXT, at TEXT NOT NULL"
    ),
    "rm_minutes": (
        "jam_id TEXT NOT NULL, minute TEXT NOT NULL, ideas INTEGER NOT NULL DEFAULT 0, "
        "comments INTEGER NOT NULL DEFAULT 0, votes INTEGER NOT NULL DEFAULT 0, "
        "joins INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (jam_id, minute)"
    ),
    "rm_segments": (
        "jam_id TEXT NOT NULL, segment TEXT NOT NULL, participants INTEGER NOT NULL DEFAULT 0, "
        "ideas INTEGER NOT NULL DEFAULT 0, comments INTEGER NOT NULL DEFAULT 0, "
        "votes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (jam_id, segment)"
    ),
    "rm_forums": (
        "jam_id TEXT NOT NULL, forum TEXT NOT NULL, ideas INTEGER NOT NULL DEFAULT 0, "
        "comments INTEGER NOT NULL DEFAULT 0, votes INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (jam_id, forum)"
    ),
    # The live feed: one row per read-model change, so a reconnecting client
    # catches up from here rather than from a lossy buffer.
    "rm_updates": (
        "position BIGINT NOT NULL, jam_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "idea_id TEXT, item_id TEXT NOT NULL, PRIMARY KEY (position, item_id, jam_id)"
    ),
}

INDEXES = (
    "CREATE INDEX IF NOT EXISTS rm_ideas_jam_new ON rm_ideas (jam_id, posted_at)",
    "CREATE INDEX IF NOT EXISTS rm_ideas_jam_top ON rm_ideas (jam_id, wilson)",
    "CREATE INDEX IF NOT EXISTS rm_ideas_jam_hot ON rm_ideas (jam_id, hot)",
    # Followers of a jam's ideas (similar-idea indexes, the ranking worker) read what is new.
    "CREATE INDEX IF NOT EXISTS rm_ideas_jam_position ON rm_ideas (jam_id, position)",
    "CREATE INDEX IF NOT EXISTS rm_ideas_jam_changed ON rm_ideas (jam_id, changed_position)",
    # An original's duplicates (its thread lists them; suggestions leave originals alone).
    "CREATE INDEX IF NOT EXISTS rm_ideas_duplicate_of ON rm_ideas (duplicate_of) "
    "WHERE duplicate_of IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS rm_comments_idea ON rm_comments (idea_id, posted_at)",
    # A participant's own page (my activity): their ideas and comments, newest first.
    "CREATE INDEX IF NOT EXISTS rm_ideas_author ON rm_ideas (author_id, posted_at)",
    "CREATE INDEX IF NOT EXISTS rm_comments_author ON rm_comments (author_id, posted_at)",
    # A thread's "flagged since reviewed": the idea's last review, not every jam's actions.
    "CREATE INDEX IF NOT EXISTS rm_moderation_target ON rm_moderation (target_id, position)",
    "CREATE INDEX IF NOT EXISTS rm_votes_participant ON rm_votes (participant_id)",
    "CREATE INDEX IF NOT EXISTS rm_participants_jam ON rm_participants (jam_id, last_active_at)",
    "CREATE INDEX IF NOT EXISTS rm_updates_jam ON rm_updates (jam_id, position)",
    "CREATE INDEX IF NOT EXISTS rm_updates_idea ON rm_updates (idea_id, position)",
)

# Tables a rebuild empties (tracking aside, which it resets).
VIEW_TABLES = tuple(name for name in TABLES if name != "rm_tracking")


def index_name(statement: str) -> str:
    return statement.split("IF NOT EXISTS ")[1].split()[0]


def indexed_tables() -> list[str]:
    """The tables with secondary indexes, in the order of TABLES."""
    on = {statement.split(" ON ")[1].split()[0] for statement in INDEXES}
    return [name for name in TABLES if name in on]


def drop_indexes(cur: Cursor) -> None:
    """Secondary indexes are rebuilt once after a bulk load, not row by row during it."""
    for statement in INDEXES:
        cur.execute(f"DROP INDEX IF EXISTS {index_name(statement)}")


def drop_tables(cur: Cursor) -> None:
    for name in TABLES:
        cur.execute(f"DROP TABLE IF EXISTS {name}")


def create_tables(cur: Cursor, *, indexes: bool = True) -> None:
    for name, columns in TABLES.items():
        cur.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
    if indexes:
        for statement in INDEXES:
            cur.execute(statement)


def clear_views(cur: Cursor, tracking_name: str) -> None:
    for name in VIEW_TABLES:
        cur.execute(f"DELETE FROM {name}")
    cur.execute("DELETE FROM rm_tracking WHERE name = ?", (tracking_name,))
