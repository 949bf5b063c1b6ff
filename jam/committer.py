"""Group commit: concurrent commands are decided and saved together.

Callers hand their commands to one committer thread and wait. The committer
takes whatever has queued up (waiting at most a few milliseconds for more),
decides the commands one after another against cached aggregates, checks with
one query that nothing it consulted has changed in the store meanwhile, saves
all their events in one transaction, and only then answers each caller. One
transaction, one fsync and one version check serve the whole batch; deciding
in one thread also spares the callers from contending for the interpreter.

Commands in a batch see each other's changes, so two commands on one aggregate
(two first votes by one person on one idea, say) are simply decided in order.
A batch that conflicts with another process's writes is decided again on fresh
state; if saving it together still fails, its commands are decided and saved
one by one, so one command never fails its neighbours. A command that keeps
meeting other processes' writes (everyone joining through one invite code, say)
is tried again after a short random pause, as long as its caller has waited
less than `retry_s`: contention alone does not refuse it.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, Recording
from prometheus_client import Histogram

from domain.vote import Vote
from jam.answers import LoopAnswer
from jam.batch import AggregateCache, BatchView
from jam.commands import Command, Done
from jam.errors import ConcurrentUpdate
from jam.handlers import Loader
from jam.receipts import Receipt

log = logging.getLogger(__name__)
_STOP = object()
STALE_ROUNDS = 3
# Pauses between one command's tries on fresh state: random (so that two processes
# do not keep meeting), up to twice as long each time, up to a cap.
FIRST_PAUSE_S = 0.002
LONGEST_PAUSE_S = 0.05
BATCH_SIZES = Histogram(
    "openjam_commit_batch_commands",
    "Commands saved together in one group-commit transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)


@dataclass
class Prepared:
    """A decided command: what it changed, and the id it concerns."""

    command: Command
    changed: list[Aggregate]
    result_id: UUID | None


@dataclass
class PendingRepeat:
    """A repeat of a keyed command whose first handling is in the same batch."""

    receipt_id: UUID


class Host(Protocol):
    """What the committer needs of the application."""

    def prepare(self, command: Command, loader: Loader) -> Prepared | Done | PendingRepeat: ...

    def fetch(self, ident: UUID) -> Aggregate | None: ...

    def record(self, events: Sequence[Any]) -> list[Recording[UUID]]: ...

    def versions(self, idents: Iterable[UUID]) -> dict[UUID, int]: ...

    def new_ids(self, command: Command) -> list[UUID]: ...


@dataclass
class _Item:
    command: Command
    future: Future[Done] | LoopAnswer
    since: float = field(default_factory=time.monotonic)  # when its caller handed it over


@dataclass
class BatchStats:
    batches: int = 0
    commands: int = 0
    largest: int = 0
    stale_rounds: int = 0
    retried: int = 0


class GroupCommitter:
    def __init__(
        self,
        host: Host,
        *,
        window_s: float = 0.002,
        max_batch: int = 500,
        max_retries: int = 5,
        retry_s: float = 5.0,
        cache_size: int = 100_000,
    ) -> None:
        self._host = host
        self._window_s = window_s
        self._max_batch = max_batch
        self._max_retries = max_retries
        self._retry_s = retry_s
        # Votes are written, seldom read again: they must not push out what commands read.
        self.cache = AggregateCache(cache_size, write_mostly=(Vote,))
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.stats = BatchStats()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, command: Command) -> Done:
        return self.enqueue(command).result()

    def enqueue(self, command: Command) -> Future[Done]:
        """Queue `command`; its future is answered once its batch is saved (or it is refused)."""
        future: Future[Done] = Future()
        self._put(_Item(command, future))
        return future

    def enqueue_answer(self, command: Command, answer: LoopAnswer) -> None:
        """Queue `command` for a caller on an event loop: `answer` is settled as a future is."""
        self._put(_Item(command, answer))

    def _put(self, item: _Item) -> None:
        if not self._thread.is_alive():
            msg = "the committer has stopped"
            raise RuntimeError(msg)
        self._queue.put(item)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    # The committer thread.
    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Item] = [first]  # type: ignore[list-item]
            stopping = self._gather(batch)
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a caller waiting
                log.exception("group commit failed")
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
            if stopping:
                return

    def _gather(self, batch: list[_Item]) -> bool:
        deadline = time.monotonic() + self._window_s
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is _STOP:
                return True
            batch.append(item)  # type: ignore[arg-type]
        return False

    def _commit(self, batch: list[_Item]) -> None:
        self.stats.batches += 1
        self.stats.largest = max(self.stats.largest, len(batch))
        BATCH_SIZES.observe(len(batch))
        for _ in range(STALE_ROUNDS):
            outcome = self._round(batch)
            if outcome is not None:
                break
            self.stats.stale_rounds += 1
        else:
            outcome = False
        if outcome is False:
            for item in batch:
                if not item.future.done():
                    self._one_by_one(item)
        self.stats.commands += len(batch)

    def _round(self, batch: list[_Item]) -> bool | None:
        """Decide and save a batch together: True if saved, None if stale, False if conflicting."""
        view = BatchView(self.cache, self._host.fetch)
        # Most commands create something; one query tells which of those ids are free.
        view.known_absent(
            {i for item in batch for i in self._host.new_ids(item.command)}, self._host.versions
        )
        decided: list[tuple[_Item, list[Any], UUID | None]] = []
        repeats: list[tuple[_Item, UUID]] = []
        receipts: dict[UUID, _Item] = {}
        answers: dict[int, Done | BaseException] = {}
        for item in batch:
            try:
                outcome = self._host.prepare(item.command, view)
            except (InterfaceError, OperationalError):
                # The store is unreachable: fail the whole batch now rather than have
                # each command wait for a connection in turn.
                raise
            except Exception as exc:  # a refused command fails alone
                view.reject()
                answers[id(item)] = exc
                continue
            if isinstance(outcome, Done):
                view.reject()
                answers[id(item)] = outcome
            elif isinstance(outcome, PendingRepeat):
                view.reject()
                repeats.append((item, outcome.receipt_id))
            else:
                for aggregate in outcome.changed:
                    if isinstance(aggregate, Receipt):
                        receipts[aggregate.id] = item
                decided.append((item, view.accept(outcome.changed), outcome.result_id))

        current = self._host.versions(view.seen)
        stale = [i for i, seen in view.seen.items() if current.get(i, 0) != seen]
        if stale:
            # Another process changed something this round relied on: decide again.
            self.cache.evict(stale)
            return None

        events = [event for _, own, _ in decided for event in own]
        positions: dict[tuple[UUID, int], int] = {}
        lost = False  # the batch's changes were not saved
        if events:
            try:
                recordings = self._host.record(events)
            except IntegrityError:
                self.cache.evict(view.seen)
                return False
            except Exception as exc:
                unreachable = isinstance(exc, (InterfaceError, OperationalError))
                if len(decided) > 1 and not unreachable:
                    # One command's events the store would not take (say, a value it cannot
                    # encode): save each alone, so that only that command fails.
                    self.cache.evict(view.seen)
                    return False
                for item, _, _ in decided:
                    item.future.set_exception(exc)
                decided, lost = [], True
            else:
                view.saved()
                for r in recordings:
                    key = (r.domain_event.originator_id, r.domain_event.originator_version)
                    positions[key] = r.notification.id
        for item, own, result_id in decided:
            last = max(positions[(e.originator_id, e.originator_version)] for e in own)
            item.future.set_result(Done(position=last, id=result_id))
        # A command that changed nothing may have found its state in what earlier commands
        # of this batch did (a vote sent twice at once): its answer is where they landed,
        # or a read "after" it could miss them.
        batch_last = max(positions.values(), default=0)
        for item, answer in ((i, answers[id(i)]) for i in batch if id(i) in answers):
            if lost:  # decided on changes that were not saved: decide again, on what was
                self._one_by_one(item)
            elif isinstance(answer, BaseException):
                item.future.set_exception(answer)
            elif answer.position < batch_last:
                item.future.set_result(Done(position=batch_last, id=answer.id))
            else:
                item.future.set_result(answer)
        for item, receipt in repeats:
            original = receipts.get(receipt)
            if original is not None and original.future.done() and not original.future.exception():
                item.future.set_result(original.future.result())
            else:
                self._one_by_one(item)
        return True

    def _one_by_one(self, item: _Item) -> None:
        """Decide and save one command alone, on fresh state, until it sticks: at least
        `max_retries` tries, and more while its caller has waited less than `retry_s`."""
        self.stats.retried += 1
        deadline = item.since + self._retry_s
        pause = FIRST_PAUSE_S
        tries = 0
        while True:
            if self._round([item]):
                return
            tries += 1
            if tries >= self._max_retries and time.monotonic() >= deadline:
                break
            time.sleep(random.uniform(0, pause))
            pause = min(2 * pause, LONGEST_PAUSE_S)
        item.future.set_exception(
            ConcurrentUpdate("the same items kept changing concurrently; please retry")
        )
