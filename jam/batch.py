"""What the committer thread decides against: cached aggregates and a batch's view of them.

The committer keeps the aggregates it has read or saved in an `AggregateCache`,
so deciding a command usually needs no query at all. A `BatchView` is the
handlers' Loader for one round of a batch: commands see the changes of the
commands before them in the same batch, and each command works on private
copies, so a refused command leaves nothing behind. Before a round is saved, one
query checks that every aggregate it consulted is still at the version it saw;
anything changed by another process is evicted and the round decided again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from jam.errors import NotFound

A = TypeVar("A", bound=Aggregate)


class AggregateCache:
    """Aggregates as this process last saw them in the store, least recently used first out.

    Aggregates of the `write_mostly` types (votes: each is written once or twice and rarely
    read again) are kept apart in a smaller cache, so a stream of votes cannot push out the
    participants, ideas and jams that nearly every command reads.
    """

    def __init__(
        self, maxsize: int, write_mostly: tuple[type[Aggregate], ...] = (), share: float = 0.2
    ) -> None:
        self._items: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._write_mostly: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._kinds = write_mostly
        self._maxsize = maxsize
        self._write_mostly_max = max(1, int(maxsize * share)) if write_mostly else 0

    def get(self, ident: UUID) -> Aggregate | None:
        for items in (self._items, self._write_mostly):
            found = items.get(ident)
            if found is not None:
                items.move_to_end(ident)
                return found
        return None

    def put(self, aggregate: Aggregate) -> None:
        if isinstance(aggregate, self._kinds):
            items, limit = self._write_mostly, self._write_mostly_max
        else:
            items, limit = self._items, self._maxsize
        items[aggregate.id] = aggregate
        items.move_to_end(aggregate.id)
        while len(items) > limit:
            items.popitem(last=False)

    def evict(self, idents: Any) -> None:
        for ident in idents:
            self._items.pop(ident, None)
            self._write_mostly.pop(ident, None)

    def __len__(self) -> int:
        return len(self._items) + len(self._write_mostly)


class BatchView:
    """The Loader for one round of a batch (used by the committer thread only)."""

    def __init__(self, cache: AggregateCache, fetch: Callable[[UUID], Aggregate | None]) -> None:
        self._cache = cache
        self._fetch = fetch
        self._current: dict[UUID, Aggregate | None] = {}
        self.seen: dict[UUID, int] = {}  # id -> version first seen this round (0: absent)
        self._copies: dict[UUID, Aggregate] = {}

    def _base(self, ident: UUID) -> Aggregate | None:
        if ident in self._current:
            return self._current[ident]
        aggregate = self._cache.get(ident)
        if aggregate is None:
            aggregate = self._fetch(ident)
            if aggregate is not None:
                self._cache.put(aggregate)
        self._current[ident] = aggregate
        self.seen[ident] = aggregate.version if aggregate is not None else 0
        return aggregate

    def known_absent(self, idents: set[UUID], versions: Callable[[set[UUID]], dict]) -> None:
        """Look up, in one query, which of these (uncached) ids do not exist yet."""
        unknown = {i for i in idents if i not in self._current and self._cache.get(i) is None}
        if not unknown:
            return
        existing = versions(unknown)
        for ident in unknown - existing.keys():
            self._current[ident] = None
            self.seen[ident] = 0

    # The Loader protocol.
    def read(self, kind: type[A], ident: UUID) -> A:
        found = self._base(ident)
        if not isinstance(found, kind):
            raise NotFound(kind.__name__.lower(), ident)
        return found

    def load(self, kind: type[A], ident: UUID) -> A:
        found = self.find(kind, ident)
        if found is None:
            raise NotFound(kind.__name__.lower(), ident)
        return found

    def find(self, kind: type[A], ident: UUID) -> A | None:
        if ident in self._copies:
            copy = self._copies[ident]
            return copy if isinstance(copy, kind) else None
        found = self._base(ident)
        if not isinstance(found, kind):
            return None
        copy = deepcopy(found)
        self._copies[ident] = copy
        return copy

    # Commands, one at a time.
    def accept(self, changed: list[Aggregate]) -> list[Any]:
        """Make a decided command's changes visible to later commands; return its events."""
        events: list[Any] = []
        for aggregate in changed:
            events.extend(aggregate.collect_events())
            self._current[aggregate.id] = aggregate
            self.seen.setdefault(aggregate.id, 0)
        self._copies = {}
        return events

    def reject(self) -> None:
        """Forget the private copies of a command that was refused."""
        self._copies = {}

    def saved(self) -> None:
        """The round is in the store: what it changed is what the cache now holds."""
        for aggregate in self._current.values():
            if aggregate is not None:
                self._cache.put(aggregate)

    def is_pending(self, ident: UUID) -> bool:
        """Created in this round and not yet saved."""
        return self.seen.get(ident) == 0 and self._current.get(ident) is not None
