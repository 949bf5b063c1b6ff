"""Encoded bodies of the hot reads (idea lists, threads), kept until the read models change.

A list or a thread is a pure function of the read models and of whether the viewer
sees hidden content, so its JSON is kept per (route, query, role class) and dropped
when the read models' update feed (`rm_updates`) names a change it depends on (the
pages keep their rendered idea lists and threads' comments here too, under the tags of
the API's list or thread of the same ideas: ui/pages.py):

- a vote or a comment drops the lists that show its idea and those whose order it can
  change (votes: top, hot, discussed; comments: discussed); any other change in a jam but
  someone joining drops all of the jam's lists;
- a change to an idea (its votes, comments, moderation, decision...) drops its thread, and
  a duplicate's link, edit or moderation drops its original's thread too (it lists them);
- a participant's new name drops every thread of their jam (names appear in threads).

The cache follows the feed itself, inside the read that fills it, so it sees every
change whichever process projected it (one worker, several, or `jam worker
projections`); this process's own projection also hands it each page's updates as soon
as the page is committed. `through` is the position up to which changes have been
applied: a body is served from the cache only when `through` reaches what the reader
needs (its `?after=` and the position this process knows the read models have
reached), and stored only if it was read at `through`, so a body older than a change
already applied is never kept. It is a derived view in the web layer: it writes
nothing anywhere.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from domain import Participant
from domain.values import Role
from projections import queries
from projections.db import Cursor
from projections.projector import Update


@dataclass(frozen=True, slots=True)
class Body:
    """An encoded response body and the headers that go with it."""

    content: bytes
    headers: tuple[tuple[str, str], ...] = ()


# What an entry costs beside its body: its key, tags and bookkeeping. Counted, so that
# many tiny bodies (empty pages of made-up forums) cannot outgrow the bound either.
ENTRY_OVERHEAD = 512


def _cost(body: Body) -> int:
    return len(body.content) + ENTRY_OVERHEAD


def jam_lists(jam_id: str) -> str:
    return f"jam:{jam_id}"


def sorted_by(jam_id: str, sort: str) -> str:
    return f"sort:{jam_id}:{sort}"


def shows(idea_id: str) -> str:
    return f"shows:{idea_id}"


def thread_of(idea_id: str) -> str:
    return f"idea:{idea_id}"


def names_in(jam_id: str) -> str:
    return f"names:{jam_id}"


class ReadCache:
    def __init__(self, max_bytes: int, feed_retention: int) -> None:
        self.max_bytes = max_bytes
        self._retention = feed_retention
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Body, tuple[str, ...]]] = OrderedDict()
        self._by_tag: dict[str, set[Hashable]] = {}
        self._bytes = 0
        self.through = -1  # nothing applied yet: nothing is served before the first sync

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, needs: int) -> Body | None:
        """The body kept for `key`, if the cache has applied the feed through `needs`."""
        if self.through < needs:
            return None
        with self._lock:
            if self.through < needs:
                return None
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def sync(self, cur: Cursor) -> int:
        """Apply the feed up to the position `cur` reads at; return that position.

        Call it first in a read's transaction: the body read next is then at least as new
        as the position returned.
        """
        position = queries.position(cur)
        start = self.through
        if position <= start:
            return position  # another read has applied the feed further already
        if start < 0 or start < position - self._retention:
            # First use, or the feed no longer reaches back that far: forget everything.
            with self._lock:
                if self.through < position:
                    self._clear()
                    self.through = position
            return position
        rows = cur.execute(
            "SELECT jam_id, kind, idea_id FROM rm_updates WHERE position > ? AND position <= ?",
            (start, position),
        ).fetchall()
        with self._lock:
            self._drop(_tags(rows))
            self.through = max(self.through, position)
        return position

    def applied(self, updates: Iterable[Update], position: int, *, complete: bool) -> None:
        """A projection in this process committed a page ending at `position` with `updates`.

        Its changes are dropped at once. If this process's projection is the only one
        (`complete`), every change up to `position` has now been seen: pages without
        updates change nothing a list or thread shows. Otherwise reads still sync.
        """
        tags = _tags((u.jam_id, u.kind, u.idea_id) for u in updates)
        with self._lock:
            self._drop(tags)
            if complete and position > self.through:
                self.through = position

    def put(self, key: Hashable, body: Body, tags: tuple[str, ...], read_at: int) -> None:
        """Keep `body`, read at position `read_at`, unless the feed has moved on since."""
        size = _cost(body)
        if size > self.max_bytes // 8:
            return  # one huge thread must not push out everything else
        with self._lock:
            if read_at != self.through:
                return  # changes after read_at were applied: this body may miss them
            self._evict(key)  # a body kept before, with its tags
            self._entries[key] = (body, tags)
            self._bytes += size
            for tag in tags:
                self._by_tag.setdefault(tag, set()).add(key)
            while self._bytes > self.max_bytes:
                self._evict(next(iter(self._entries)))

    def _drop(self, tags: Iterable[str]) -> None:
        for tag in tags:
            for key in self._by_tag.pop(tag, ()):
                self._evict(key)

    def _evict(self, key: Hashable) -> None:
        found = self._entries.pop(key, None)
        if found is None:
            return
        body, tags = found
        self._bytes -= _cost(body)
        for tag in tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def _clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self._bytes = 0


# The list orders a vote or a comment can change (votes move up, down, the Wilson bound,
# hot and the last activity; comments the count and the last activity). Pages in other
# orders change only if they show the idea.
REORDERED_BY = {
    "vote": ("top", "hot", "discussed"),
    "comment": ("discussed",),
}


def _tags(rows: Iterable[tuple[str, str, str | None]]) -> set[str]:
    """What the feed's changes touch (see the module's docstring)."""
    tags: set[str] = set()
    for jam_id, kind, idea_id in rows:
        if idea_id:
            tags.add(thread_of(idea_id))
        if idea_id and kind in REORDERED_BY:
            tags.add(shows(idea_id))
            tags.update(sorted_by(jam_id, sort) for sort in REORDERED_BY[kind])
        elif kind not in ("participant", "blocked"):  # joining or a block changes no idea
            tags.add(jam_lists(jam_id))
        if kind == "renamed":
            tags.add(names_in(jam_id))
    return tags


def list_tags(jam_id: str, sort: str, idea_ids: Iterable[str]) -> tuple[str, ...]:
    """What an idea list depends on: the jam, its order, and each idea it shows."""
    return (jam_lists(jam_id), sorted_by(jam_id, sort), *(shows(i) for i in idea_ids))


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Facts(Generic[K, V]):
    """Facts that never change once known (an idea's jam, a participant's role and jam),
    remembered up to `capacity` (the least recently learned go first)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._known: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._known.get(key)

    def remember(self, key: K, value: V) -> None:
        with self._lock:
            self._known[key] = value
            if len(self._known) > self._capacity:
                self._known.popitem(last=False)


class IdeaJams(Facts[str, str]):
    """Which jam each idea is in: a read of a thread or its stream checks the reader
    against the idea's jam without asking the read models each time."""

    def __init__(self, capacity: int = 200_000) -> None:
        super().__init__(capacity)


class KnownJams(Facts[UUID, bool]):
    """Jams known to exist (a jam is never deleted), so that an organizer of every jam asking
    about one gets its data, and about any other id a 404, without a read each time."""

    def __init__(self, capacity: int = 10_000) -> None:
        super().__init__(capacity)


class Roles(Facts[UUID, tuple[Role, UUID | None]]):
    """Each participant's role and jam, which never change once they have joined.

    Knowing them saves reading the participant from the event store for most readers:
    only an organizer of the jam can see more than anyone else, and only for them is the
    participant read again, so a block still takes effect at once.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        super().__init__(capacity)

    def learn(self, person: Participant) -> None:
        self.remember(person.id, (person.role, person.jam_id))
