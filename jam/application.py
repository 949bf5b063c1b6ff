"""OpenJam's event-sourced application: the only writer of events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    Recording,
)
from eventsourcing.utils import Environment

from domain.errors import InvalidValue
from domain.values import require_aware
from jam.answers import LoopAnswer, deliveries_for
from jam.clock import Clock, system_clock
from jam.commands import Command, Done
from jam.committer import GroupCommitter, PendingRepeat, Prepared
from jam.errors import IdempotencyKeyReused, NotFound, StoreUnavailable
from jam.handlers import HANDLERS, Decision, Loader, created_ids
from jam.receipts import Receipt, fingerprint, receipt_id
from jam.settings import Settings

A = TypeVar("A", bound=Aggregate)

ID_NAMESPACE = UUID("3c1d8a52-7e0b-4f5e-9d2a-64b7c1e0f9a3")


def _unavailable(exc: BaseException) -> BaseException:
    """A store that cannot be reached, as callers are told of it."""
    if not isinstance(exc, InterfaceError | OperationalError):
        return exc
    unavailable = StoreUnavailable(f"the event store is unavailable: {exc}")
    unavailable.__cause__ = exc
    return unavailable


class JamApplication(Application[UUID]):
    name = "OpenJam"

    def __init__(self, settings: Settings | None = None, *, clock: Clock = system_clock) -> None:
        self.settings = settings or Settings.from_env()
        self.clock = clock
        super().__init__(env=self.settings.store_env())
        self.committer: GroupCommitter | None = None
        if self.settings.group_commit:
            self.committer = GroupCommitter(
                self,
                window_s=self.settings.commit_window_ms / 1000,
                max_batch=self.settings.commit_max_batch,
                cache_size=self.settings.commit_cache,
            )

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Settings own the configuration: nothing leaks in from os.environ.
        return Environment(name, dict(env or {}))

    # The one entry point for writes.
    def handle(self, command: Command) -> Done:
        """Decide and durably record a command; return its last event's log position."""
        try:
            if self.committer is not None:
                return self.committer.submit(command)
            prepared = self.prepare(command, self)
            if isinstance(prepared, Done):
                return prepared
            assert isinstance(prepared, Prepared)
            recordings = self._save_changed(prepared.changed)
            last = max(r.notification.id for r in recordings)
            return Done(position=last, id=prepared.result_id)
        except (InterfaceError, OperationalError) as exc:
            raise StoreUnavailable(f"the event store is unavailable: {exc}") from exc

    def submit(self, command: Command) -> asyncio.Future[Done] | None:
        """`handle` without waiting, for callers on an event loop: the future (of the
        running loop) gets the answer.

        None without group commit: then only `handle` (in a thread) records commands.
        """
        if self.committer is None:
            return None
        answer = LoopAnswer(deliveries_for(asyncio.get_running_loop()), _unavailable)
        self.committer.enqueue_answer(command, answer)
        return answer.future

    def prepare(self, command: Command, loader: Loader) -> Prepared | Done | PendingRepeat:
        """Decide a command against `loader`; nothing is written here."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise InvalidValue(f"unknown command {type(command).__name__}")
        at = command.at or self.clock()
        require_aware("at", at)
        receipt_key = None
        if command.client_key is not None:
            receipt_key = receipt_id(command.actor, command.client_key)
            earlier = loader.find(Receipt, receipt_key)
            if earlier is not None:
                return self._repeat(earlier, command)
        decision: Decision = handler(command, loader, at)
        changed = [a for a in decision.changed if a.pending_events]
        if receipt_key is not None:
            # Last, so the receipt's position is the command's position.
            changed.append(
                Receipt(
                    id=receipt_key,
                    fingerprint=fingerprint(command),
                    result_id=decision.result_id,
                    timestamp=at,
                )
            )
        if not changed:
            return Done(position=self.position(), id=decision.result_id)
        return Prepared(command=command, changed=changed, result_id=decision.result_id)

    def _repeat(self, receipt: Receipt, command: Command) -> Done | PendingRepeat:
        if receipt.fingerprint != fingerprint(command):
            raise IdempotencyKeyReused("this idempotency key was used for a different request")
        position = self.recorder.position_of(receipt.id, 1)  # type: ignore[attr-defined]
        if position is None:  # first handled earlier in the same batch, not yet saved
            return PendingRepeat(receipt.id)
        return Done(position=position, id=receipt.result_id)

    # What the group committer needs of the application.
    def fetch(self, ident: UUID) -> Aggregate | None:
        try:
            return self.repository.get(ident)
        except AggregateNotFoundError:
            return None

    def record(self, events: Sequence[Any]) -> list[Recording[UUID]]:
        return self.events.put(list(events))

    def new_ids(self, command: Command) -> list[UUID]:
        ids = created_ids(command)
        if command.client_key is not None:
            ids.append(receipt_id(command.actor, command.client_key))
        return ids

    def versions(self, idents: Iterable[UUID]) -> dict[UUID, int]:
        return self.recorder.max_versions(list(idents))  # type: ignore[attr-defined]

    def _save_changed(self, changed: Sequence[Aggregate]) -> list[Recording[UUID]]:
        return self.save(*changed)

    # Reading aggregates (the handlers' Loader).
    def load(self, kind: type[A], ident: UUID) -> A:
        found = self.find(kind, ident)
        if found is None:
            raise NotFound(kind.__name__.lower(), ident)
        return found

    def read(self, kind: type[A], ident: UUID) -> A:
        found = self._get(kind, ident, private=False)
        if found is None:
            raise NotFound(kind.__name__.lower(), ident)
        return found

    def find(self, kind: type[A], ident: UUID) -> A | None:
        return self._get(kind, ident, private=True)

    def _get(self, kind: type[A], ident: UUID, *, private: bool) -> A | None:
        # The repository caches aggregates and brings them up to date from the
        # store on every get (fast-forward), so a cached copy is never stale; a
        # private deep copy is taken only for aggregates a command will change.
        try:
            aggregate = self.repository.get(ident, deepcopy_from_cache=private)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    # Positions and ids.
    def position(self) -> int:
        """The log position of the last recorded event (0 for an empty log)."""
        try:
            return self.recorder.max_notification_id() or 0
        except (PersistenceError, ConnectionPoolClosedError) as exc:
            raise StoreUnavailable(f"the event store is unavailable: {exc}") from exc

    @staticmethod
    def new_id(actor: UUID | None = None, client_key: str | None = None) -> UUID:
        """A fresh id, or, for a keyed request, the same id on every retry."""
        if client_key is None:
            return uuid4()
        return uuid5(ID_NAMESPACE, f"{actor.hex if actor else '-'}:{client_key}")

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        if self.committer is not None:
            self.committer.stop()
        super().close()
