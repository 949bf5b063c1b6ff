"""The projection: event notifications in, read-model rows out.

A page of notifications is applied in one transaction together with the new
tracking position, so a restart resumes exactly after the last page applied:
nothing skipped, nothing applied twice. High-volume changes (vote tallies,
counters per minute, segment, forum and participant) are summed in memory over
the page and written once per row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.utils import get_topic

from domain import Comment, Idea, Jam, Participant, Vote
from projections.db import Cursor
from projections.scores import hot, wilson_lower_bound

TRACKING_NAME = "openjam-views"
IDEA_CACHE_MAX = 500_000
FEED_RETENTION = 100_000  # log positions of live-feed history kept for reconnecting clients

Decode = Callable[[bytes], dict[str, Any]]


class Notice(NamedTuple):
    """One recorded event as the projection reads it: position, aggregate, topic, payload."""

    id: int
    originator_id: str
    topic: str
    state: bytes


@dataclass(frozen=True)
class Update:
    """A compact note of one read-model change, published to live streams."""

    position: int
    jam_id: str
    kind: str
    item_id: str
    idea_id: str | None = None


def _iso(ts: datetime) -> str:
    if ts.tzinfo is not UTC:  # payloads decode as UTC already; others are converted
        ts = ts.astimezone(UTC)
    return ts.isoformat(timespec="microseconds")


def _id(value: UUID | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class _IdeaState:
    jam_id: str
    forum: str
    posted_at: datetime
    up: int
    down: int
    comments: int
    last_activity_at: str


@dataclass
class _Page:
    """What a page of events changes, gathered before it is written."""

    ideas: dict[str, _IdeaState] = field(default_factory=dict)
    touched_ideas: set[str] = field(default_factory=set)
    votes: dict[str, list[Any]] = field(
        default_factory=dict
    )  # id -> [idea, pid, jam, seg, value, at]
    new_votes: set[str] = field(default_factory=set)
    changed_votes: set[str] = field(default_factory=set)
    idea_segments: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    minutes: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0])
    )
    segments: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0])
    )
    forums: defaultdict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )
    people: defaultdict[str, list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, ""])
    )
    updates: list[Update] = field(default_factory=list)


def _t(cls: type) -> str:
    return get_topic(cls)


class Projector:
    """Applies pages of notifications to the read-model tables."""

    def __init__(self, decode: Decode, *, feed_retention: int = FEED_RETENTION) -> None:
        self._decode = decode
        self.feed_retention = feed_retention
        self._idea_cache: dict[str, _IdeaState] = {}
        self._cached_at: int | None = None
        self._handlers: dict[str, Callable[[Cursor, _Page, Notice, dict[str, Any]], None]] = {
            _t(Jam.Created): self._jam_created,
            _t(Jam.ForumAdded): self._jam_forum_added,
            _t(Jam.Rescheduled): self._jam_rescheduled,
            _t(Jam.Extended): self._jam_extended,
            _t(Jam.ClosedEarly): self._jam_closed_early,
            _t(Jam.AlertSent): self._jam_alert_sent,
            _t(Jam.AlertCleared): self._jam_alert_cleared,
            _t(Participant.Joined): self._participant_joined,
            _t(Participant.Renamed): self._participant_renamed,
            _t(Participant.Blocked): self._participant_blocked,
            _t(Participant.Unblocked): self._participant_unblocked,
            _t(Idea.Posted): self._idea_posted,
            _t(Idea.Edited): self._idea_edited,
            _t(Idea.Flagged): self._idea_flagged,
            _t(Idea.Hidden): self._idea_hidden,
            _t(Idea.Restored): self._idea_restored,
            _t(Idea.MarkedDuplicate): self._idea_marked_duplicate,
            _t(Idea.UnmarkedDuplicate): self._idea_unmarked_duplicate,
            _t(Idea.DecisionRecorded): self._idea_decided,
            _t(Comment.Posted): self._comment_posted,
            _t(Comment.Edited): self._comment_edited,
            _t(Comment.Hidden): self._comment_hidden,
            _t(Comment.Restored): self._comment_restored,
            _t(Vote.Cast): self._vote_cast,
            _t(Vote.Changed): self._vote_changed,
            _t(Vote.Withdrawn): self._vote_withdrawn,
        }

    @property
    def topics(self) -> Sequence[str]:
        return tuple(self._handlers)

    def apply(
        self,
        cur: Cursor,
        notifications: Sequence[Notice],
        keep: Callable[[dict[str, Any]], bool] | None = None,
        *,
        after: int | None = None,
        feed_from: int = 0,
    ) -> list[Update]:
        """Apply notifications in order; the caller records the tracking position.

        `after` is the position the read models were at before this page. Idea
        state is kept between pages only while pages follow each other from this
        projector, so nothing another writer changed is ever read from memory.
        `keep` can pass over events (by their decoded state), for views "as of" a time.
        `feed_from` skips writing live-feed rows at or below a position (a rebuild
        knows which of them the feed's retention would drop at once).
        """
        if after is None or after != self._cached_at or len(self._idea_cache) > IDEA_CACHE_MAX:
            self._idea_cache.clear()
        page = _Page(ideas=self._idea_cache)
        self._cached_at = None  # invalid until this page has been written
        handlers, decode = self._handlers, self._decode
        for n in notifications:
            handler = handlers.get(n.topic)
            if handler is not None:
                event = decode(n.state)
                if keep is None or keep(event):
                    handler(cur, page, n, event)
        self._flush(cur, page, feed_from)
        if notifications:
            self._cached_at = notifications[-1].id
        return page.updates

    def forget(self) -> None:
        """Drop state kept between pages (after a page failed to commit)."""
        self._idea_cache.clear()
        self._cached_at = None

    # Jams
    def _jam_created(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        cur.execute(
            "INSERT INTO rm_jams (jam_id, title, description, forums, starts_at, ends_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                n.originator_id,
                e["title"],
                e["description"],
                json.dumps(e["forums"]),
                _iso(e["starts_at"]),
                _iso(e["ends_at"]),
            ),
        )
        self._note(page, n, n.originator_id, "jam", n.originator_id)

    def _jam_forum_added(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        row = cur.execute(
            "SELECT forums FROM rm_jams WHERE jam_id = ?", (n.originator_id,)
        ).fetchone()
        forums = json.loads(row[0]) if row else []
        forums.append(e["forum"])
        cur.execute(
            "UPDATE rm_jams SET forums = ? WHERE jam_id = ?",
            (json.dumps(forums), n.originator_id),
        )
        self._note(page, n, n.originator_id, "jam", n.originator_id)

    def _jam_rescheduled(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        cur.execute(
            "UPDATE rm_jams SET starts_at = ?, ends_at = ? WHERE jam_id = ?",
            (_iso(e["starts_at"]), _iso(e["ends_at"]), n.originator_id),
        )
        self._note(page, n, n.originator_id, "jam", n.originator_id)

    def _jam_extended(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        cur.execute(
            "UPDATE rm_jams SET ends_at = ? WHERE jam_id = ?",
            (_iso(e["ends_at"]), n.originator_id),
        )
        self._note(page, n, n.originator_id, "jam", n.originator_id)

    def _jam_closed_early(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        cur.execute(
            "UPDATE rm_jams SET closed_at = ?, close_reason = ? WHERE jam_id = ?",
            (_iso(e["timestamp"]), e["reason"], n.originator_id),
        )
        self._note(page, n, n.originator_id, "jam", n.originator_id)

    def _jam_alert_sent(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        cur.execute(
            "UPDATE rm_jams SET alert = ?, alert_at = ? WHERE jam_id = ?",
            (e["message"], _iso(e["timestamp"]), n.originator_id),
        )
        self._note(page, n, n.originator_id, "alert", n.originator_id)

    def _jam_alert_cleared(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        cur.execute(
            "UPDATE rm_jams SET alert = '', alert_at = NULL WHERE jam_id = ?", (n.originator_id,)
        )
        self._note(page, n, n.originator_id, "alert", n.originator_id)

    # Participants
    def _participant_joined(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        pid, jam_id = n.originator_id, _id(e["jam_id"])
        at = _iso(e["timestamp"])
        cur.execute(
            "INSERT INTO rm_participants (participant_id, jam_id, display_name, segment, role, "
            "joined_at) VALUES (?, ?, ?, ?, ?, ?)",
            (pid, jam_id, e["display_name"], e["segment"], e["role"], at),
        )
        if jam_id is not None:
            page.minutes[(jam_id, at[:16])][3] += 1
            page.segments[(jam_id, e["segment"])][0] += 1
            self._note(page, n, jam_id, "participant", pid)

    def _participant_renamed(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        cur.execute(
            "UPDATE rm_participants SET display_name = ? WHERE participant_id = ?",
            (e["display_name"], n.originator_id),
        )

    def _set_blocked(self, cur: Cursor, n: Notice, e: dict[str, Any], blocked: int) -> None:
        pid = n.originator_id
        cur.execute(
            "UPDATE rm_participants SET blocked = ? WHERE participant_id = ?", (blocked, pid)
        )
        row = cur.execute(
            "SELECT jam_id FROM rm_participants WHERE participant_id = ?", (pid,)
        ).fetchone()
        if row and row[0]:
            actor = e["blocked_by"] if blocked else e["unblocked_by"]
            self._moderation(
                cur,
                n,
                row[0],
                "participant",
                pid,
                "block" if blocked else "unblock",
                e["reason"],
                actor,
                e,
            )

    def _participant_blocked(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        self._set_blocked(cur, n, e, 1)

    def _participant_unblocked(
        self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]
    ) -> None:
        self._set_blocked(cur, n, e, 0)

    # Ideas
    def _idea_posted(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        idea_id, jam_id, at = n.originator_id, str(e["jam_id"]), _iso(e["timestamp"])
        cur.execute(
            "INSERT INTO rm_ideas (idea_id, jam_id, forum, author_id, author_segment, title, body, "
            "posted_at, hot, last_activity_at, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                idea_id,
                jam_id,
                e["forum"],
                str(e["author_id"]),
                e["author_segment"],
                e["title"],
                e["body"],
                at,
                hot(0, 0, e["timestamp"]),
                at,
                n.id,
            ),
        )
        page.ideas[idea_id] = _IdeaState(jam_id, e["forum"], e["timestamp"], 0, 0, 0, at)
        page.minutes[(jam_id, at[:16])][0] += 1
        page.segments[(jam_id, e["author_segment"])][1] += 1
        page.forums[(jam_id, e["forum"])][0] += 1
        self._active(page, str(e["author_id"]), at, 0)
        self._note(page, n, jam_id, "idea", idea_id, idea_id)

    def _idea_edited(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        idea_id = n.originator_id
        cur.execute(
            "UPDATE rm_ideas SET title = ?, body = ?, edited_at = ? WHERE idea_id = ?",
            (e["title"], e["body"], _iso(e["timestamp"]), idea_id),
        )
        self._note(page, n, self._idea(cur, page, idea_id).jam_id, "idea", idea_id, idea_id)

    def _idea_flagged(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        idea_id = n.originator_id
        jam_id = self._idea(cur, page, idea_id).jam_id
        cur.execute(
            "INSERT INTO rm_flags (idea_id, flagged_by, jam_id, reason, flagged_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (idea_id, str(e["flagged_by"]), jam_id, e["reason"], _iso(e["timestamp"])),
        )
        cur.execute("UPDATE rm_ideas SET flags = flags + 1 WHERE idea_id = ?", (idea_id,))
        self._note(page, n, jam_id, "flag", idea_id, idea_id)

    def _idea_hidden(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        self._moderate_idea(cur, page, n, e, hidden=1, actor=e["hidden_by"])

    def _idea_restored(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        self._moderate_idea(cur, page, n, e, hidden=0, actor=e["restored_by"])

    def _moderate_idea(
        self,
        cur: Cursor,
        page: _Page,
        n: Notice,
        e: dict[str, Any],
        *,
        hidden: int,
        actor: UUID,
    ) -> None:
        idea_id = n.originator_id
        jam_id = self._idea(cur, page, idea_id).jam_id
        cur.execute(
            "UPDATE rm_ideas SET hidden = ?, hidden_reason = ? WHERE idea_id = ?",
            (hidden, e["reason"] if hidden else "", idea_id),
        )
        self._moderation(
            cur, n, jam_id, "idea", idea_id, "hide" if hidden else "restore", e["reason"], actor, e
        )
        self._note(page, n, jam_id, "hidden" if hidden else "restored", idea_id, idea_id)

    def _idea_marked_duplicate(
        self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]
    ) -> None:
        idea_id = n.originator_id
        cur.execute(
            "UPDATE rm_ideas SET duplicate_of = ? WHERE idea_id = ?",
            (str(e["original_id"]), idea_id),
        )
        jam_id = self._idea(cur, page, idea_id).jam_id
        self._moderation(
            cur, n, jam_id, "idea", idea_id, "duplicate", str(e["original_id"]), e["marked_by"], e
        )
        self._note(page, n, jam_id, "idea", idea_id, idea_id)

    def _idea_unmarked_duplicate(
        self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]
    ) -> None:
        idea_id = n.originator_id
        cur.execute("UPDATE rm_ideas SET duplicate_of = NULL WHERE idea_id = ?", (idea_id,))
        jam_id = self._idea(cur, page, idea_id).jam_id
        self._moderation(cur, n, jam_id, "idea", idea_id, "not-duplicate", "", e["unmarked_by"], e)
        self._note(page, n, jam_id, "idea", idea_id, idea_id)

    def _idea_decided(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        idea_id = n.originator_id
        cur.execute(
            "UPDATE rm_ideas SET decision = ?, decision_note = ? WHERE idea_id = ?",
            (e["decision"], e["note"], idea_id),
        )
        self._note(page, n, self._idea(cur, page, idea_id).jam_id, "decision", idea_id, idea_id)

    # Comments
    def _comment_posted(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        comment_id, idea_id, jam_id = n.originator_id, str(e["idea_id"]), str(e["jam_id"])
        at = _iso(e["timestamp"])
        cur.execute(
            "INSERT INTO rm_comments (comment_id, idea_id, jam_id, parent_id, depth, author_id, "
            "author_segment, body, posted_at, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                comment_id,
                idea_id,
                jam_id,
                _id(e["parent_id"]),
                e["depth"],
                str(e["author_id"]),
                e["author_segment"],
                e["body"],
                at,
                n.id,
            ),
        )
        idea = self._idea(cur, page, idea_id)
        idea.comments += 1
        idea.last_activity_at = max(idea.last_activity_at, at)
        page.touched_ideas.add(idea_id)
        page.minutes[(jam_id, at[:16])][1] += 1
        page.segments[(jam_id, e["author_segment"])][2] += 1
        page.forums[(jam_id, idea.forum)][1] += 1
        self._active(page, str(e["author_id"]), at, 1)
        self._note(page, n, jam_id, "comment", comment_id, idea_id)

    def _comment_edited(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        comment_id = n.originator_id
        cur.execute(
            "UPDATE rm_comments SET body = ?, edited_at = ? WHERE comment_id = ?",
            (e["body"], _iso(e["timestamp"]), comment_id),
        )
        jam_id, idea_id = self._comment_place(cur, comment_id)
        self._note(page, n, jam_id, "comment", comment_id, idea_id)

    def _comment_hidden(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        self._moderate_comment(cur, page, n, e, hidden=1, actor=e["hidden_by"])

    def _comment_restored(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        self._moderate_comment(cur, page, n, e, hidden=0, actor=e["restored_by"])

    def _moderate_comment(
        self,
        cur: Cursor,
        page: _Page,
        n: Notice,
        e: dict[str, Any],
        *,
        hidden: int,
        actor: UUID,
    ) -> None:
        comment_id = n.originator_id
        cur.execute(
            "UPDATE rm_comments SET hidden = ?, hidden_reason = ? WHERE comment_id = ?",
            (hidden, e["reason"] if hidden else "", comment_id),
        )
        jam_id, idea_id = self._comment_place(cur, comment_id)
        idea = self._idea(cur, page, idea_id)
        idea.comments += -1 if hidden else 1
        page.touched_ideas.add(idea_id)
        self._moderation(
            cur,
            n,
            jam_id,
            "comment",
            comment_id,
            "hide" if hidden else "restore",
            e["reason"],
            actor,
            e,
        )
        self._note(page, n, jam_id, "hidden" if hidden else "restored", comment_id, idea_id)

    # Votes
    def _vote_cast(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        vote_id, idea_id, jam_id = n.originator_id, str(e["idea_id"]), str(e["jam_id"])
        at = _iso(e["timestamp"])
        page.votes[vote_id] = [idea_id, str(e["participant_id"]), jam_id, e["segment"], 0, at]
        page.new_votes.add(vote_id)
        self._set_vote(cur, page, vote_id, e["value"], at)
        idea = self._idea(cur, page, idea_id)
        page.minutes[(jam_id, at[:16])][2] += 1
        page.segments[(jam_id, e["segment"])][3] += 1
        page.forums[(jam_id, idea.forum)][2] += 1
        self._active(page, str(e["participant_id"]), at, 2)
        self._note(page, n, jam_id, "vote", vote_id, idea_id)

    def _vote_changed(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        self._vote_moved(cur, page, n, e["value"], _iso(e["timestamp"]))

    def _vote_withdrawn(self, cur: Cursor, page: _Page, n: Notice, e: dict[str, Any]) -> None:
        self._vote_moved(cur, page, n, 0, _iso(e["timestamp"]))

    def _vote_moved(self, cur: Cursor, page: _Page, n: Notice, value: int, at: str) -> None:
        vote_id = n.originator_id
        if vote_id not in page.votes:
            row = cur.execute(
                "SELECT idea_id, participant_id, jam_id, segment, value, updated_at FROM rm_votes "
                "WHERE vote_id = ?",
                (vote_id,),
            ).fetchone()
            page.votes[vote_id] = list(row)  # type: ignore[arg-type]
        page.changed_votes.add(vote_id)
        self._set_vote(cur, page, vote_id, value, at)
        idea_id, pid, jam_id = page.votes[vote_id][:3]
        self._active(page, pid, at, None)
        self._note(page, n, jam_id, "vote", vote_id, idea_id)

    def _set_vote(self, cur: Cursor, page: _Page, vote_id: str, value: int, at: str) -> None:
        vote = page.votes[vote_id]
        idea_id, _, _, segment, old = vote[:5]
        idea = self._idea(cur, page, idea_id)
        tally = page.idea_segments[(idea_id, segment)]
        for v, sign in ((old, -1), (value, 1)):
            if v == 1:
                idea.up += sign
                tally[0] += sign
            elif v == -1:
                idea.down += sign
                tally[1] += sign
        vote[4], vote[5] = value, at
        idea.last_activity_at = max(idea.last_activity_at, at)
        page.touched_ideas.add(idea_id)

    # Helpers
    def _idea(self, cur: Cursor, page: _Page, idea_id: str) -> _IdeaState:
        state = page.ideas.get(idea_id)
        if state is None:
            row = cur.execute(
                "SELECT jam_id, forum, posted_at, up, down, comments, last_activity_at "
                "FROM rm_ideas "
                "WHERE idea_id = ?",
                (idea_id,),
            ).fetchone()
            assert row is not None, f"idea {idea_id} is not projected"
            state = _IdeaState(row[0], row[1], datetime.fromisoformat(row[2]), *row[3:])
            page.ideas[idea_id] = state
        return state

    def _comment_place(self, cur: Cursor, comment_id: str) -> tuple[str, str]:
        row = cur.execute(
            "SELECT jam_id, idea_id FROM rm_comments WHERE comment_id = ?", (comment_id,)
        ).fetchone()
        assert row is not None, f"comment {comment_id} is not projected"
        return row[0], row[1]

    @staticmethod
    def _active(page: _Page, participant_id: str, at: str, counter: int | None) -> None:
        person = page.people[participant_id]
        if counter is not None:
            person[counter] += 1
        person[3] = max(person[3], at)

    @staticmethod
    def _note(
        page: _Page,
        n: Notice,
        jam_id: str,
        kind: str,
        item_id: str,
        idea_id: str | None = None,
    ) -> None:
        page.updates.append(Update(n.id, jam_id, kind, item_id, idea_id))

    @staticmethod
    def _moderation(
        cur: Cursor,
        n: Notice,
        jam_id: str,
        kind: str,
        target: str,
        action: str,
        reason: str,
        actor: UUID | None,
        e: dict[str, Any],
    ) -> None:
        cur.execute(
            "INSERT INTO rm_moderation (position, jam_id, target_kind, target_id, action, reason, "
            "actor_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (n.id, jam_id, kind, target, action, reason, _id(actor), _iso(e["timestamp"])),
        )

    def _flush(self, cur: Cursor, page: _Page, feed_from: int = 0) -> None:
        if page.touched_ideas:
            rows = []
            for idea_id in sorted(page.touched_ideas):
                s = page.ideas[idea_id]
                rows.append(
                    (
                        s.up,
                        s.down,
                        s.comments,
                        wilson_lower_bound(s.up, s.down),
                        hot(s.up, s.down, s.posted_at),
                        s.last_activity_at,
                        idea_id,
                    )
                )
            cur.executemany(
                "UPDATE rm_ideas SET up = ?, down = ?, comments = ?, wilson = ?, hot = ?, "
                "last_activity_at = ? WHERE idea_id = ?",
                rows,
            )
        if page.new_votes or page.changed_votes:
            cur.executemany(
                "INSERT INTO rm_votes (vote_id, idea_id, participant_id, jam_id, segment, value, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (vote_id) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                [(vid, *page.votes[vid]) for vid in sorted(page.new_votes | page.changed_votes)],
            )
        self._add(
            cur, "rm_idea_segments", ("idea_id", "segment"), ("up", "down"), page.idea_segments
        )
        self._add(
            cur,
            "rm_minutes",
            ("jam_id", "minute"),
            ("ideas", "comments", "votes", "joins"),
            page.minutes,
        )
        self._add(
            cur,
            "rm_segments",
            ("jam_id", "segment"),
            ("participants", "ideas", "comments", "votes"),
            page.segments,
        )
        self._add(
            cur, "rm_forums", ("jam_id", "forum"), ("ideas", "comments", "votes"), page.forums
        )
        if page.people:
            cur.executemany(
                "UPDATE rm_participants SET ideas = ideas + ?, comments = comments + ?, "
                "votes = votes + ?, "
                "last_active_at = CASE WHEN last_active_at IS NULL OR last_active_at < ? THEN ? "
                "ELSE last_active_at END WHERE participant_id = ?",
                [(i, c, v, at, at, pid) for pid, (i, c, v, at) in sorted(page.people.items())],
            )
        if page.updates:
            last = page.updates[-1].position
            floor = max(feed_from, last - self.feed_retention)
            cur.executemany(
                "INSERT INTO rm_updates (position, jam_id, kind, idea_id, item_id) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (position, item_id) DO NOTHING",
                [
                    (u.position, u.jam_id, u.kind, u.idea_id, u.item_id)
                    for u in page.updates
                    if u.position > floor
                ],
            )
            # The feed keeps the most recent `feed_retention` positions; a client that
            # is further behind is told to reload instead (see ui/live.py).
            cur.execute("DELETE FROM rm_updates WHERE position <= ?", (last - self.feed_retention,))

    @staticmethod
    def _add(
        cur: Cursor,
        table: str,
        keys: tuple[str, ...],
        counters: tuple[str, ...],
        deltas: dict[tuple[str, str], list[int]],
    ) -> None:
        if not deltas:
            return
        columns = ", ".join(keys + counters)
        marks = ", ".join("?" * (len(keys) + len(counters)))
        sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters)
        cur.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}",
            [(*key, *delta) for key, delta in sorted(deltas.items())],
        )
