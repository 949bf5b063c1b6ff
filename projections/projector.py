"""The projection: event notifications in, read-model rows out.

A page of notifications is applied in one transaction together with the new
tracking position, so a restart resumes exactly after the last page applied:
nothing skipped, nothing applied twice.

Within a page the high-volume events (people joining, ideas, comments, votes)
only gather rows and sums in memory; each table is written once at the end of
the page with `executemany` (new rows inserted with their final tallies, counters
added with `INSERT ... ON CONFLICT DO UPDATE`, a vote changed twice written once).
Rarer events (edits, moderation, jam changes) write at once, after the rows
gathered so far, so every statement sees the rows it refers to.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from eventsourcing.utils import get_topic
from msgspec import to_builtins as _rfc3339

from domain import Comment, Idea, Jam, Participant, Vote
from projections import payloads as p
from projections.db import Cursor
from projections.scores import hot, wilson_lower_bound

TRACKING_NAME = "openjam-views"
IDEA_CACHE_MAX = 500_000
FEED_RETENTION = 100_000  # log positions of live-feed history kept for reconnecting clients

T = TypeVar("T")
# Makes a decoder of payloads into a struct of `projections.payloads` (the
# application's transcoder provides it: `views_decoder`).
DecoderFor = Callable[[type[T]], Callable[[bytes], T]]
Row = tuple[int, str, str, bytes]  # position, originator id as text, topic, payload
Note = tuple[int, str, str, str, str | None]
Statement = tuple[str, list[Any]]  # SQL and the rows to run it with
# Tables of counters that a page adds to: (table, key columns, counter columns).
COUNTER_TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("rm_idea_segments", ("idea_id", "segment"), ("up", "down")),
    ("rm_minutes", ("jam_id", "minute"), ("ideas", "comments", "votes", "joins")),
    ("rm_segments", ("jam_id", "segment"), ("participants", "ideas", "comments", "votes")),
    ("rm_forums", ("jam_id", "forum"), ("ideas", "comments", "votes")),
)


class Notice(NamedTuple):
    """One recorded event as the projection reads it: position, aggregate, topic, payload."""

    id: int
    originator_id: str
    topic: str
    state: bytes


class Update(NamedTuple):
    """A compact note of one read-model change, published to live streams."""

    position: int
    jam_id: str
    kind: str
    item_id: str
    idea_id: str | None = None


def iso(ts: datetime) -> str:
    """ISO 8601 in UTC with microseconds, as the read models store times (sortable as text).

    msgspec writes RFC 3339 ("...Z", no fraction when it is zero) several times
    faster than `isoformat`; only the suffix differs.
    """
    if ts.tzinfo is not UTC:  # payloads decode as UTC already; others are converted
        ts = ts.astimezone(UTC)
    text = _rfc3339(ts)
    return f"{text[:-1]}+00:00" if len(text) == 27 else f"{text[:19]}.000000+00:00"


@dataclass(slots=True)
class _IdeaState:
    jam_id: str
    forum: str
    posted_at: datetime
    up: int
    down: int
    comments: int
    last_activity_at: str

    def scored(self) -> tuple[int, int, int, float, float, str]:
        up, down = self.up, self.down
        return (
            up,
            down,
            self.comments,
            wilson_lower_bound(up, down),
            hot(up, down, self.posted_at),
            self.last_activity_at,
        )


def _counters(width: int) -> defaultdict[tuple[str, str], list[int]]:
    return defaultdict(lambda: [0] * width)


@dataclass
class _Page:
    """What a page of events changes, gathered before it is written."""

    ideas: dict[str, _IdeaState] = field(default_factory=dict)
    # Rows not yet inserted: new ideas (the columns that never change), comments, people.
    new_ideas: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    new_comments: list[tuple[Any, ...]] = field(default_factory=list)
    new_people: list[tuple[Any, ...]] = field(default_factory=list)
    touched_ideas: set[str] = field(default_factory=set)
    # vote id -> [vote id, idea, participant, jam, segment, value, at]: the row written
    votes: dict[str, list[Any]] = field(default_factory=dict)
    idea_segments: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: _counters(2)
    )
    minutes: defaultdict[tuple[str, str], list[int]] = field(default_factory=lambda: _counters(4))
    segments: defaultdict[tuple[str, str], list[int]] = field(default_factory=lambda: _counters(4))
    forums: defaultdict[tuple[str, str], list[int]] = field(default_factory=lambda: _counters(3))
    people: defaultdict[str, list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, ""])
    )
    # Live-feed notes (position, jam, kind, item, idea); a deque that keeps nothing
    # when no note of the page would be published or kept in the feed.
    notes: list[Note] | deque[Note] = field(default_factory=list)


Handler = Callable[[Cursor, _Page, Row, Any], None]


class Projector:
    """Applies pages of notifications to the read-model tables."""

    def __init__(self, decoder_for: DecoderFor, *, feed_retention: int = FEED_RETENTION) -> None:
        self._decoder_for = decoder_for
        self.feed_retention = feed_retention
        self._idea_cache: dict[str, _IdeaState] = {}
        self._cached_at: int | None = None
        gathered: dict[Any, tuple[type[p.Payload], Handler]] = {
            Participant.Joined: (p.ParticipantJoined, self._participant_joined),
            Idea.Posted: (p.IdeaPosted, self._idea_posted),
            Comment.Posted: (p.CommentPosted, self._comment_posted),
            Vote.Cast: (p.VoteCast, self._vote_cast),
            Vote.Passed: (p.VoteCast, self._vote_passed),
            Vote.Changed: (p.VoteChanged, self._vote_changed),
            Vote.Withdrawn: (p.Payload, self._vote_withdrawn),
        }
        written: dict[Any, tuple[type[p.Payload], Handler]] = {
            Jam.Created: (p.JamCreated, self._jam_created),
            Jam.ForumAdded: (p.JamForumAdded, self._jam_forum_added),
            Jam.Rescheduled: (p.JamRescheduled, self._jam_rescheduled),
            Jam.Extended: (p.JamExtended, self._jam_extended),
            Jam.ClosedEarly: (p.JamClosedEarly, self._jam_closed_early),
            Jam.AlertSent: (p.JamAlertSent, self._jam_alert_sent),
            Jam.AlertCleared: (p.Payload, self._jam_alert_cleared),
            Participant.Renamed: (p.ParticipantRenamed, self._participant_renamed),
            Participant.Blocked: (p.ParticipantBlocked, self._participant_blocked),
            Participant.Unblocked: (p.ParticipantUnblocked, self._participant_unblocked),
            Idea.Edited: (p.IdeaEdited, self._idea_edited),
            Idea.Flagged: (p.IdeaFlagged, self._idea_flagged),
            Idea.Hidden: (p.IdeaHidden, self._idea_hidden),
            Idea.Restored: (p.IdeaRestored, self._idea_restored),
            Idea.FlagsDismissed: (p.IdeaFlagsDismissed, self._idea_flags_dismissed),
            Idea.MarkedDuplicate: (p.IdeaMarkedDuplicate, self._idea_marked_duplicate),
            Idea.UnmarkedDuplicate: (p.IdeaUnmarkedDuplicate, self._idea_unmarked_duplicate),
            # Recorded on the original: its thread lists its duplicates.
            Idea.DuplicateLinked: (p.Payload, self._original_changed),
            Idea.DuplicateUnlinked: (p.Payload, self._original_changed),
            Idea.DecisionRecorded: (p.IdeaDecided, self._idea_decided),
            Comment.Edited: (p.CommentEdited, self._comment_edited),
            Comment.Hidden: (p.CommentHidden, self._comment_hidden),
            Comment.Restored: (p.CommentRestored, self._comment_restored),
        }
        # topic -> (decode, handler, whether it writes at once)
        self._handlers: dict[str, tuple[Callable[[bytes], Any], Handler, bool]] = {}
        for at_once, table in ((False, gathered), (True, written)):
            for cls, (payload, handler) in table.items():
                self._handlers[get_topic(cls)] = (decoder_for(payload), handler, at_once)

    def fresh(self) -> Projector:
        """A projector like this one with nothing in memory: for other read models (a
        replay "as of" a time), whose pages must never touch what this one keeps of its own."""
        return Projector(self._decoder_for, feed_retention=self.feed_retention)

    @property
    def topics(self) -> Sequence[str]:
        return tuple(self._handlers)

    @property
    def topics_written_at_once(self) -> frozenset[str]:
        """Rarer events, written as they come rather than gathered for the page's end."""
        return frozenset(topic for topic, (_, _, at_once) in self._handlers.items() if at_once)

    def apply(
        self,
        cur: Cursor,
        notifications: Sequence[Row],
        keep: Callable[[int, datetime], bool] | None = None,
        *,
        after: int | None = None,
        feed_from: int = 0,
        publish: bool = True,
    ) -> list[Update]:
        """Apply notifications in order; the caller records the tracking position.

        `after` is the position the read models were at before this page. Idea
        state is kept between pages only while pages follow each other from this
        projector, so nothing another writer changed is ever read from memory.
        `keep` can pass over events (given their position and time), for views "as of"
        a time.
        `feed_from` skips writing live-feed rows at or below a position (a rebuild
        knows which of them the feed's retention would drop at once). The updates
        to publish are returned when `publish` is set.
        """
        writes, updates = self.prepare(
            cur, notifications, keep, after=after, feed_from=feed_from, publish=publish
        )
        run(cur, writes)
        return updates

    def prepare(
        self,
        cur: Cursor,
        notifications: Sequence[Row],
        keep: Callable[[int, datetime], bool] | None = None,
        *,
        after: int | None = None,
        feed_from: int = 0,
        publish: bool = True,
    ) -> tuple[list[Statement], list[Update]]:
        """Gather a page: what `apply` does, but the statements that write the
        gathered rows are returned rather than run (run them after whatever was
        done through `cur`, in the same transaction if `cur` was used at all).
        `cur` is used only by rarer events and to read state not held in memory,
        so a rebuild can write one page while it gathers the next.
        """
        if after is None or after != self._cached_at or len(self._idea_cache) > IDEA_CACHE_MAX:
            self._idea_cache.clear()
        page = _Page(ideas=self._idea_cache)
        if not publish and notifications and notifications[-1][0] <= feed_from:
            page.notes = deque(maxlen=0)
        self._cached_at = None  # invalid until this page has been written
        handlers = self._handlers
        for n in notifications:
            found = handlers.get(n[2])
            if found is None:
                continue
            decode, handler, at_once = found
            event = decode(n[3])
            if keep is not None and not keep(n[0], event.timestamp):
                continue
            if at_once:
                run(cur, self._gathered_rows(page))
            handler(cur, page, n, event)
        writes = self._statements(page, feed_from)
        if notifications:
            self._cached_at = notifications[-1][0]
        return writes, [Update(*note) for note in page.notes] if publish else []

    def assume_ideas(self, ideas: Iterable[tuple[str, str, str, datetime]], position: int) -> None:
        """Hold these ideas (id, jam, forum, posted at) with nothing counted yet, as
        the read models hold them at `position`: a rebuild's second process starts
        from such placeholders, and would otherwise read each one back."""
        self._idea_cache = {
            idea_id: _IdeaState(jam_id, forum, at, 0, 0, 0, "")
            for idea_id, jam_id, forum, at in ideas
        }
        self._cached_at = position

    def forget(self) -> None:
        """Drop state kept between pages (after a page failed to commit)."""
        self._idea_cache.clear()
        self._cached_at = None

    # Jams
    def _jam_created(self, cur: Cursor, page: _Page, n: Row, e: p.JamCreated) -> None:
        cur.execute(
            "INSERT INTO rm_jams (jam_id, title, description, forums, starts_at, ends_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                n[1],
                e.title,
                e.description,
                json.dumps(e.forums),
                iso(e.starts_at),
                iso(e.ends_at),
            ),
        )
        page.notes.append((n[0], n[1], "jam", n[1], None))

    def _jam_forum_added(self, cur: Cursor, page: _Page, n: Row, e: p.JamForumAdded) -> None:
        row = cur.execute("SELECT forums FROM rm_jams WHERE jam_id = ?", (n[1],)).fetchone()
        forums = json.loads(row[0]) if row else []
        forums.append(e.forum)
        cur.execute("UPDATE rm_jams SET forums = ? WHERE jam_id = ?", (json.dumps(forums), n[1]))
        page.notes.append((n[0], n[1], "jam", n[1], None))

    def _jam_rescheduled(self, cur: Cursor, page: _Page, n: Row, e: p.JamRescheduled) -> None:
        self._update_jam(
            cur, page, n, "starts_at = ?, ends_at = ?", iso(e.starts_at), iso(e.ends_at)
        )

    def _jam_extended(self, cur: Cursor, page: _Page, n: Row, e: p.JamExtended) -> None:
        self._update_jam(cur, page, n, "ends_at = ?", iso(e.ends_at))

    def _jam_closed_early(self, cur: Cursor, page: _Page, n: Row, e: p.JamClosedEarly) -> None:
        self._update_jam(
            cur, page, n, "closed_at = ?, close_reason = ?", iso(e.timestamp), e.reason
        )

    def _jam_alert_sent(self, cur: Cursor, page: _Page, n: Row, e: p.JamAlertSent) -> None:
        self._update_jam(
            cur, page, n, "alert = ?, alert_at = ?", e.message, iso(e.timestamp), kind="alert"
        )

    def _jam_alert_cleared(self, cur: Cursor, page: _Page, n: Row, e: p.Payload) -> None:
        self._update_jam(cur, page, n, "alert = '', alert_at = NULL", kind="alert")

    @staticmethod
    def _update_jam(
        cur: Cursor, page: _Page, n: Row, sets: str, *values: Any, kind: str = "jam"
    ) -> None:
        cur.execute(f"UPDATE rm_jams SET {sets} WHERE jam_id = ?", (*values, n[1]))
        page.notes.append((n[0], n[1], kind, n[1], None))

    # Participants
    def _participant_joined(self, cur: Cursor, page: _Page, n: Row, e: p.ParticipantJoined) -> None:
        pid, jam_id, at = n[1], e.jam_id, iso(e.timestamp)
        page.new_people.append((pid, jam_id, e.display_name, e.segment, e.role, at))
        if jam_id is not None:
            page.minutes[(jam_id, at[:16])][3] += 1
            if e.role == "participant":  # the segments' people: its organizers and leaders apart
                page.segments[(jam_id, e.segment)][0] += 1
            page.notes.append((n[0], jam_id, "participant", pid, None))

    def _participant_renamed(
        self, cur: Cursor, page: _Page, n: Row, e: p.ParticipantRenamed
    ) -> None:
        cur.execute(
            "UPDATE rm_participants SET display_name = ? WHERE participant_id = ?",
            (e.display_name, n[1]),
        )
        # Names appear in lists and threads: readers (and caches of them) need to know.
        row = cur.execute(
            "SELECT jam_id FROM rm_participants WHERE participant_id = ?", (n[1],)
        ).fetchone()
        if row and row[0]:
            jams = [row[0]]
        else:  # an organizer of every jam: the jams they wrote in show the name
            jams = sorted(
                r[0]
                for r in cur.execute(
                    "SELECT jam_id FROM rm_ideas WHERE author_id = ? UNION "
                    "SELECT jam_id FROM rm_comments WHERE author_id = ?",
                    (n[1], n[1]),
                ).fetchall()
            )
        for jam_id in jams:
            page.notes.append((n[0], jam_id, "renamed", n[1], None))

    def _participant_blocked(
        self, cur: Cursor, page: _Page, n: Row, e: p.ParticipantBlocked
    ) -> None:
        self._set_blocked(cur, page, n, e, 1, e.blocked_by)

    def _participant_unblocked(
        self, cur: Cursor, page: _Page, n: Row, e: p.ParticipantUnblocked
    ) -> None:
        self._set_blocked(cur, page, n, e, 0, e.unblocked_by)

    def _set_blocked(
        self, cur: Cursor, page: _Page, n: Row, e: Any, blocked: int, actor: str
    ) -> None:
        pid = n[1]
        cur.execute(
            "UPDATE rm_participants SET blocked = ? WHERE participant_id = ?", (blocked, pid)
        )
        row = cur.execute(
            "SELECT jam_id FROM rm_participants WHERE participant_id = ?", (pid,)
        ).fetchone()
        if row and row[0]:
            action = "block" if blocked else "unblock"
            self._moderation(cur, n, row[0], "participant", pid, action, e.reason, actor, e)
            # Their open pages learn it: forms stop, or work again (a jam-wide update). The
            # jam, not the participant, names it: whom organizers block is for organizers.
            page.notes.append((n[0], row[0], "blocked", row[0], None))

    # Ideas
    def _idea_posted(self, cur: Cursor, page: _Page, n: Row, e: p.IdeaPosted) -> None:
        idea_id, jam_id, author, at = n[1], e.jam_id, e.author_id, iso(e.timestamp)
        page.new_ideas[idea_id] = (
            idea_id,
            jam_id,
            e.forum,
            author,
            e.author_segment,
            e.title,
            e.body,
            at,
            n[0],
        )
        page.ideas[idea_id] = _IdeaState(jam_id, e.forum, e.timestamp, 0, 0, 0, at)
        page.minutes[(jam_id, at[:16])][0] += 1
        page.segments[(jam_id, e.author_segment)][1] += 1
        page.forums[(jam_id, e.forum)][0] += 1
        person = page.people[author]
        person[0] += 1
        if at > person[3]:
            person[3] = at
        page.notes.append((n[0], jam_id, "idea", idea_id, idea_id))

    def _idea_edited(self, cur: Cursor, page: _Page, n: Row, e: p.IdeaEdited) -> None:
        # `position` stays where the idea was posted; `changed_position` tells followers
        # of its text (similar ideas) to read it again, as hiding and duplicate links do.
        cur.execute(
            "UPDATE rm_ideas SET title = ?, body = ?, edited_at = ?, changed_position = ? "
            "WHERE idea_id = ?",
            (e.title, e.body, iso(e.timestamp), n[0], n[1]),
        )
        jam_id = self._note_idea(cur, page, n, "edited")  # not "idea": pages announce those as new
        self._note_original(cur, page, n, jam_id)

    def _idea_flagged(self, cur: Cursor, page: _Page, n: Row, e: p.IdeaFlagged) -> None:
        idea_id = n[1]
        jam_id = self._idea(cur, page, idea_id).jam_id
        cur.execute(
            "INSERT INTO rm_flags (idea_id, flagged_by, jam_id, reason, flagged_at, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (idea_id, e.flagged_by, jam_id, e.reason, iso(e.timestamp), n[0]),
        )
        cur.execute("UPDATE rm_ideas SET flags = flags + 1 WHERE idea_id = ?", (idea_id,))
        page.notes.append((n[0], jam_id, "flag", idea_id, idea_id))

    def _idea_hidden(self, cur: Cursor, page: _Page, n: Row, e: p.IdeaHidden) -> None:
        self._moderate_idea(cur, page, n, e, hidden=1, actor=e.hidden_by)

    def _idea_restored(self, cur: Cursor, page: _Page, n: Row, e: p.IdeaRestored) -> None:
        self._moderate_idea(cur, page, n, e, hidden=0, actor=e.restored_by)

    def _idea_flags_dismissed(
        self, cur: Cursor, page: _Page, n: Row, e: p.IdeaFlagsDismissed
    ) -> None:
        jam_id = self._note_idea(cur, page, n, "flag")
        self._moderation(cur, n, jam_id, "idea", n[1], "dismiss", e.reason, e.dismissed_by, e)

    def _moderate_idea(
        self, cur: Cursor, page: _Page, n: Row, e: Any, *, hidden: int, actor: str
    ) -> None:
        idea_id = n[1]
        cur.execute(
            "UPDATE rm_ideas SET hidden = ?, hidden_reason = ?, changed_position = ? "
            "WHERE idea_id = ?",
            (hidden, e.reason if hidden else "", n[0], idea_id),
        )
        jam_id = self._note_idea(cur, page, n, "hidden" if hidden else "restored")
        self._note_original(cur, page, n, jam_id)
        # An original's duplicates say whether it is hidden (their votes count without it).
        for (duplicate,) in cur.execute(
            "SELECT idea_id FROM rm_ideas WHERE duplicate_of = ?", (idea_id,)
        ).fetchall():
            page.notes.append((n[0], jam_id, "duplicate", duplicate, duplicate))
        action = "hide" if hidden else "restore"
        self._moderation(cur, n, jam_id, "idea", idea_id, action, e.reason, actor, e)

    def _idea_marked_duplicate(
        self, cur: Cursor, page: _Page, n: Row, e: p.IdeaMarkedDuplicate
    ) -> None:
        idea_id = n[1]
        cur.execute(
            "UPDATE rm_ideas SET duplicate_of = ?, changed_position = ? WHERE idea_id = ?",
            (e.original_id, n[0], idea_id),
        )
        jam_id = self._note_idea(cur, page, n, "duplicate")
        self._moderation(
            cur, n, jam_id, "idea", idea_id, "duplicate", e.original_id, e.marked_by, e
        )

    def _idea_unmarked_duplicate(
        self, cur: Cursor, page: _Page, n: Row, e: p.IdeaUnmarkedDuplicate
    ) -> None:
        idea_id = n[1]
        cur.execute(
            "UPDATE rm_ideas SET duplicate_of = NULL, changed_position = ? WHERE idea_id = ?",
            (n[0], idea_id),
        )
        jam_id = self._note_idea(cur, page, n, "duplicate")
        self._moderation(cur, n, jam_id, "idea", idea_id, "not-duplicate", "", e.unmarked_by, e)

    def _idea_decided(self, cur: Cursor, page: _Page, n: Row, e: p.IdeaDecided) -> None:
        cur.execute(
            "UPDATE rm_ideas SET decision = ?, decision_note = ? WHERE idea_id = ?",
            (e.decision, e.note, n[1]),
        )
        self._note_idea(cur, page, n, "decision")

    def _original_changed(self, cur: Cursor, page: _Page, n: Row, e: p.Payload) -> None:
        self._note_idea(cur, page, n, "duplicate")

    @staticmethod
    def _note_original(cur: Cursor, page: _Page, n: Row, jam_id: str) -> None:
        """A duplicate's title or visibility shows on its original's thread too."""
        row = cur.execute("SELECT duplicate_of FROM rm_ideas WHERE idea_id = ?", (n[1],)).fetchone()
        if row and row[0]:
            page.notes.append((n[0], jam_id, "duplicate", row[0], row[0]))

    def _note_idea(self, cur: Cursor, page: _Page, n: Row, kind: str) -> str:
        """Note a change to the idea `n` is about; return the idea's jam."""
        jam_id = self._idea(cur, page, n[1]).jam_id
        page.notes.append((n[0], jam_id, kind, n[1], n[1]))
        return jam_id

    # Comments
    def _comment_posted(self, cur: Cursor, page: _Page, n: Row, e: p.CommentPosted) -> None:
        comment_id, idea_id, jam_id, author = n[1], e.idea_id, e.jam_id, e.author_id
        at = iso(e.timestamp)
        page.new_comments.append(
            (
                comment_id,
                idea_id,
                jam_id,
                e.parent_id,
                e.depth,
                author,
                e.author_segment,
                e.body,
                at,
                n[0],
            )
        )
        idea = page.ideas.get(idea_id) or self._idea(cur, page, idea_id)
        idea.comments += 1
        if at > idea.last_activity_at:
            idea.last_activity_at = at
        page.touched_ideas.add(idea_id)
        page.minutes[(jam_id, at[:16])][1] += 1
        page.segments[(jam_id, e.author_segment)][2] += 1
        page.forums[(jam_id, idea.forum)][1] += 1
        person = page.people[author]
        person[1] += 1
        if at > person[3]:
            person[3] = at
        page.notes.append((n[0], jam_id, "comment", comment_id, idea_id))

    def _comment_edited(self, cur: Cursor, page: _Page, n: Row, e: p.CommentEdited) -> None:
        comment_id = n[1]
        cur.execute(
            "UPDATE rm_comments SET body = ?, edited_at = ? WHERE comment_id = ?",
            (e.body, iso(e.timestamp), comment_id),
        )
        jam_id, idea_id = self._comment_place(cur, comment_id)
        page.notes.append((n[0], jam_id, "comment", comment_id, idea_id))

    def _comment_hidden(self, cur: Cursor, page: _Page, n: Row, e: p.CommentHidden) -> None:
        self._moderate_comment(cur, page, n, e, hidden=1, actor=e.hidden_by)

    def _comment_restored(self, cur: Cursor, page: _Page, n: Row, e: p.CommentRestored) -> None:
        self._moderate_comment(cur, page, n, e, hidden=0, actor=e.restored_by)

    def _moderate_comment(
        self, cur: Cursor, page: _Page, n: Row, e: Any, *, hidden: int, actor: str
    ) -> None:
        comment_id = n[1]
        cur.execute(
            "UPDATE rm_comments SET hidden = ?, hidden_reason = ? WHERE comment_id = ?",
            (hidden, e.reason if hidden else "", comment_id),
        )
        jam_id, idea_id = self._comment_place(cur, comment_id)
        idea = self._idea(cur, page, idea_id)
        idea.comments += -1 if hidden else 1
        page.touched_ideas.add(idea_id)
        action = "hide" if hidden else "restore"
        self._moderation(cur, n, jam_id, "comment", comment_id, action, e.reason, actor, e)
        kind = "hidden" if hidden else "restored"
        page.notes.append((n[0], jam_id, kind, comment_id, idea_id))

    # Votes
    def _vote_cast(self, cur: Cursor, page: _Page, n: Row, e: p.VoteCast) -> None:
        vote_id, idea_id, pid, jam_id, segment, value = (
            n[1],
            e.idea_id,
            e.participant_id,
            e.jam_id,
            e.segment,
            e.value,
        )
        at = iso(e.timestamp)
        page.votes[vote_id] = [vote_id, idea_id, pid, jam_id, segment, 0, at]
        idea = self._set_vote(cur, page, vote_id, value, at)
        page.minutes[(jam_id, at[:16])][2] += 1
        page.segments[(jam_id, segment)][3] += 1
        page.forums[(jam_id, idea.forum)][2] += 1
        person = page.people[pid]
        person[2] += 1
        if at > person[3]:
            person[3] = at
        page.notes.append((n[0], jam_id, "vote", idea_id, idea_id))  # see _vote_moved

    def _vote_passed(self, cur: Cursor, page: _Page, n: Row, e: p.VoteCast) -> None:
        """Seen, not voted (Pol.is passes): a vote row of value 0, counted only as activity."""
        vote_id, pid, at = n[1], e.participant_id, iso(e.timestamp)
        page.votes[vote_id] = [vote_id, e.idea_id, pid, e.jam_id, e.segment, 0, at]
        self._set_vote(cur, page, vote_id, 0, at)
        person = page.people[pid]
        if at > person[3]:
            person[3] = at
        page.notes.append((n[0], e.jam_id, "vote", e.idea_id, e.idea_id))

    def _vote_changed(self, cur: Cursor, page: _Page, n: Row, e: p.VoteChanged) -> None:
        self._vote_moved(cur, page, n, e.value, iso(e.timestamp))

    def _vote_withdrawn(self, cur: Cursor, page: _Page, n: Row, e: p.Payload) -> None:
        # No value, not 0: a withdrawn vote is no vote, where 0 is a pass (seen, which
        # the ranking counts against support).
        self._vote_moved(cur, page, n, None, iso(e.timestamp))

    def _vote_moved(self, cur: Cursor, page: _Page, n: Row, value: int | None, at: str) -> None:
        vote_id = n[1]
        vote = page.votes.get(vote_id)
        if vote is None:
            row = cur.execute(
                "SELECT vote_id, idea_id, participant_id, jam_id, segment, value, updated_at "
                "FROM rm_votes WHERE vote_id = ?",
                (vote_id,),
            ).fetchone()
            assert row is not None, f"vote {vote_id} is not projected"
            vote = page.votes[vote_id] = list(row)
        self._set_vote(cur, page, vote_id, value, at)
        person = page.people[vote[2]]
        if at > person[3]:
            person[3] = at
        # Named by its idea, not by the vote: every member of the jam reads the feed, and a
        # vote's id is derived from the idea's and the voter's, both public.
        page.notes.append((n[0], vote[3], "vote", vote[1], vote[1]))

    def _set_vote(
        self, cur: Cursor, page: _Page, vote_id: str, value: int | None, at: str
    ) -> _IdeaState:
        """Move a vote to `value`, keeping the idea's tallies (overall and per segment)."""
        vote = page.votes[vote_id]
        idea_id, segment, old = vote[1], vote[4], vote[5]
        idea = page.ideas.get(idea_id) or self._idea(cur, page, idea_id)
        tally = page.idea_segments[(idea_id, segment)]
        if old == 1:
            idea.up -= 1
            tally[0] -= 1
        elif old == -1:
            idea.down -= 1
            tally[1] -= 1
        if value == 1:
            idea.up += 1
            tally[0] += 1
        elif value == -1:
            idea.down += 1
            tally[1] += 1
        vote[5], vote[6] = value, at
        if at > idea.last_activity_at:
            idea.last_activity_at = at
        page.touched_ideas.add(idea_id)
        return idea

    # Helpers
    def _idea(self, cur: Cursor, page: _Page, idea_id: str) -> _IdeaState:
        state = page.ideas.get(idea_id)
        if state is None:
            row = cur.execute(
                "SELECT jam_id, forum, posted_at, up, down, comments, last_activity_at "
                "FROM rm_ideas WHERE idea_id = ?",
                (idea_id,),
            ).fetchone()
            assert row is not None, f"idea {idea_id} is not projected"
            state = _IdeaState(row[0], row[1], datetime.fromisoformat(row[2]), *row[3:])
            page.ideas[idea_id] = state
        return state

    @staticmethod
    def _comment_place(cur: Cursor, comment_id: str) -> tuple[str, str]:
        row = cur.execute(
            "SELECT jam_id, idea_id FROM rm_comments WHERE comment_id = ?", (comment_id,)
        ).fetchone()
        assert row is not None, f"comment {comment_id} is not projected"
        return row[0], row[1]

    @staticmethod
    def _moderation(
        cur: Cursor,
        n: Row,
        jam_id: str,
        kind: str,
        target: str,
        action: str,
        reason: str,
        actor: str | None,
        e: p.Payload,
    ) -> None:
        cur.execute(
            "INSERT INTO rm_moderation (position, jam_id, target_kind, target_id, action, reason, "
            "actor_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (n[0], jam_id, kind, target, action, reason, actor, iso(e.timestamp)),
        )

    # Writing
    @staticmethod
    def _gathered_rows(page: _Page) -> list[Statement]:
        """Inserts of the rows gathered so far, so statements that follow can refer to them.

        New ideas go in with their tallies so far; later changes update them. Rows
        with random ids as keys go in sorted by key (a cheap sort of strings): index
        pages are then touched in order, which halves the cost of inserting them.
        """
        writes: list[Statement] = []
        if page.new_people:
            writes.append(
                (
                    "INSERT INTO rm_participants (participant_id, jam_id, display_name, segment, "
                    "role, joined_at) VALUES (?, ?, ?, ?, ?, ?)",
                    page.new_people,
                )
            )
            page.new_people = []
        if page.new_ideas:
            ideas, new = page.ideas, page.new_ideas
            writes.append(
                (
                    "INSERT INTO rm_ideas (idea_id, jam_id, forum, author_id, author_segment, "
                    "title, body, posted_at, position, up, down, comments, wilson, hot, "
                    "last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*new[i], *ideas[i].scored()) for i in sorted(new)],
                )
            )
            page.touched_ideas.difference_update(page.new_ideas)
            page.new_ideas = {}
        if page.new_comments:
            writes.append(
                (
                    "INSERT INTO rm_comments (comment_id, idea_id, jam_id, parent_id, depth, "
                    "author_id, author_segment, body, posted_at, position) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    sorted(page.new_comments),
                )
            )
            page.new_comments = []
        return writes

    def _statements(self, page: _Page, feed_from: int) -> list[Statement]:
        """Everything the page still has to write, its values copied out of the page."""
        writes = self._gathered_rows(page)
        if page.touched_ideas:
            ideas = page.ideas
            writes.append(
                (
                    "UPDATE rm_ideas SET up = ?, down = ?, comments = ?, wilson = ?, hot = ?, "
                    "last_activity_at = ? WHERE idea_id = ?",
                    [(*ideas[i].scored(), i) for i in sorted(page.touched_ideas)],
                )
            )
        if page.votes:
            votes = page.votes
            writes.append(
                (
                    "INSERT INTO rm_votes (vote_id, idea_id, participant_id, jam_id, segment, "
                    "value, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (vote_id) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    [votes[vid] for vid in sorted(votes)],
                )
            )
        for (table, keys, counters), deltas in zip(
            COUNTER_TABLES,
            (page.idea_segments, page.minutes, page.segments, page.forums),
            strict=True,
        ):
            if deltas:
                writes.append(_added(table, keys, counters, deltas))
        if page.people:
            writes.append(
                (
                    "UPDATE rm_participants SET ideas = ideas + ?, comments = comments + ?, "
                    "votes = votes + ?, last_active_at = CASE WHEN last_active_at IS NULL "
                    "OR last_active_at < ? THEN ? ELSE last_active_at END "
                    "WHERE participant_id = ?",
                    [(i, c, v, at, at, pid) for pid, (i, c, v, at) in page.people.items()],
                )
            )
        if page.notes:
            last = page.notes[-1][0]
            floor = max(feed_from, last - self.feed_retention)
            notes = page.notes
            if notes[0][0] <= floor:
                notes = [note for note in notes if note[0] > floor]
            writes.append(
                (
                    "INSERT INTO rm_updates (position, jam_id, kind, item_id, idea_id) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (position, item_id, jam_id) DO NOTHING",
                    list(notes),
                )
            )
            # The feed keeps the most recent `feed_retention` positions; a client that
            # is further behind is told to reload instead (see ui/live.py).
            writes.append(
                ("DELETE FROM rm_updates WHERE position <= ?", [(last - self.feed_retention,)])
            )
        return writes


def _added(
    table: str,
    keys: tuple[str, ...],
    counters: tuple[str, ...],
    deltas: dict[tuple[str, str], list[int]],
) -> Statement:
    """Counters added to their rows, which are created when missing."""
    columns = ", ".join(keys + counters)
    marks = ", ".join("?" * (len(keys) + len(counters)))
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters)
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}",
        [(*key, *delta) for key, delta in deltas.items()],
    )


def run(cur: Cursor, writes: Sequence[Statement]) -> None:
    """Run statements from `Projector.prepare` (each with its rows) in order."""
    for sql, rows in writes:
        if rows:
            cur.executemany(sql, rows)
