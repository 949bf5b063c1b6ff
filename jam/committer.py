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
less than `retry_s`: contention alone does not refuse it. While it pauses, the
committer goes on with the other commands: the pause is a time it is due again,
not a sleep of the committer's thread. (So a later command, from another tab
say, may be saved before one that is pausing: commands sent at once never had
an order.)
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
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
STOPPED = "the committer has stopped"
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


@dataclass(order=True)
class _Later:
    """A command that met other processes' writes, due to be tried alone again."""

    due: float
    seq: int  # keeps the heap's order total: items do not compare
    item: _Item = field(compare=False)
    tries: int = field(compare=False)
    pause: float = field(compare=False)


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
        self._later: list[_Later] = []  # a heap by due time; the committer thread's own
        self._closing = False
        self._closing_lock = threading.Lock()
        self._seq = itertools.count()
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
        with self._closing_lock:  # nothing is queued behind the stop, where none would answer it
            if self._closing or not self._thread.is_alive():
                raise RuntimeError(STOPPED)
            self._queue.put(item)

    def stop(self) -> None:
        with self._closing_lock:
            closing, self._closing = self._closing, True
            if not closing and self._thread.is_alive():
                self._queue.put(_STOP)
        self._thread.join()
        while True:  # what the thread left behind when it stopped (it fails loudly instead)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Item) and not item.future.done():
                item.future.set_exception(RuntimeError(STOPPED))

    # The committer thread.
    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._until_due())
            except queue.Empty:
                first = None
            stopping = first is _STOP
            batch: list[_Item] = [] if first is None or stopping else [first]  # type: ignore[list-item]
            if batch:
                stopping = self._gather(batch)
                self._guarded(batch, partial(self._commit, batch))
            self._retry_due(wait=stopping)
            if stopping:
                return

    @staticmethod
    def _guarded(batch: list[_Item], step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as exc:  # never leave a caller waiting
            log.exception("group commit failed")
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)

    def _until_due(self) -> float | None:
        """How long the thread may wait for new commands before a retry is due."""
        return max(0.0, self._later[0].due - time.monotonic()) if self._later else None

    def _retry_due(self, *, wait: bool = False) -> None:
        """Try again, each alone, the commands whose pause is over (all of them, waiting for
        each, when the committer stops: its callers are owed an answer)."""
        # Only those due when this pass began: one put back with a short pause is due again
        # before long, and would keep the commands waiting in the queue from their turn.
        now = time.monotonic()
        while self._later and (wait or self._later[0].due <= now):
            later = heapq.heappop(self._later)
            time.sleep(max(0.0, later.due - time.monotonic()))
            self._guarded([later.item], partial(self._try_alone, later))

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
        self._try_alone(_Later(0.0, 0, item, tries=0, pause=FIRST_PAUSE_S))

    def _try_alone(self, later: _Later) -> None:
        item = later.item
        if item.future.done():  # failed meanwhile with its batch (the store unreachable)
            return
        if self._round([item]):
            return
        tries = later.tries + 1
        if tries >= self._max_retries and time.monotonic() >= item.since + self._retry_s:
            item.future.set_exception(
                ConcurrentUpdate("the same items kept changing concurrently; please retry")
            )
            return
        due = time.monotonic() + random.uniform(0, later.pause)
        pause = min(2 * later.pause, LONGEST_PAUSE_S)
        heapq.heappush(self._later, _Later(due, next(self._seq), item, tries, pause))
