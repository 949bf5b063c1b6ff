"""Group commit: concurrent commands share one transaction.

Callers decide in their own threads (reads run in parallel) and hand their
pending events to one committer thread. It takes whatever has queued up, waits
at most a few milliseconds for more, saves the lot in one transaction and only
then answers each caller. One fsync is paid per batch instead of per command.

Commands in a batch must touch different aggregates. Overlaps inside a batch,
and conflicts with another process's writes (an IntegrityError from the store),
fall back to deciding and saving those commands again one by one, so one
command never fails its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from jam.commands import Command, Done
from jam.errors import ConcurrentUpdate

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A decided command: its changed aggregates, and how to answer once saved."""

    command: Command
    changed: list[Aggregate]
    result_id: UUID | None
    future: Future[Done] = field(default_factory=Future)


@dataclass
class BatchStats:
    batches: int = 0
    commands: int = 0
    retried: int = 0
    largest: int = 0


Decide = Callable[[Command], "Prepared | Done"]
Save = Callable[[Sequence[Aggregate]], list[Recording]]
_STOP = object()


class GroupCommitter:
    def __init__(
        self,
        decide: Decide,
        save: Save,
        *,
        window_s: float = 0.002,
        max_batch: int = 500,
        max_retries: int = 5,
    ) -> None:
        self._decide = decide
        self._save = save
        self._window_s = window_s
        self._max_batch = max_batch
        self._max_retries = max_retries
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.stats = BatchStats()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, prepared: Prepared) -> Done:
        if not self._thread.is_alive():
            msg = "the committer has stopped"
            raise RuntimeError(msg)
        self._queue.put(prepared)
        return prepared.future.result()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stopping = self._gather(batch)
            try:
                self._commit(batch)  # type: ignore[arg-type]
            except BaseException as exc:  # never leave a caller waiting
                log.exception("group commit failed")
                for item in batch:
                    if isinstance(item, Prepared) and not item.future.done():
                        item.future.set_exception(exc)
            if stopping:
                return

    def _gather(self, batch: list[object]) -> bool:
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
            batch.append(item)
        return False

    def _commit(self, batch: list[Prepared]) -> None:
        together: list[Prepared] = []
        alone: list[Prepared] = []
        touched: set[UUID] = set()
        for item in batch:
            ids = {a.id for a in item.changed}
            if ids & touched:
                alone.append(item)
            else:
                touched |= ids
                together.append(item)
        try:
            recordings = self._save([a for item in together for a in item.changed])
        except IntegrityError:
            # Another writer got there first: decide everything again on fresh state.
            alone = together + alone
            together = []
        except Exception as exc:
            for item in together:
                item.future.set_exception(exc)
            together = []
        else:
            positions = _last_positions(recordings)
            for item in together:
                item.future.set_result(_done(item, positions))
        self.stats.batches += 1
        self.stats.commands += len(together)
        self.stats.largest = max(self.stats.largest, len(together))
        for item in alone:
            self._one_by_one(item)

    def _one_by_one(self, item: Prepared) -> None:
        self.stats.retried += 1
        for _ in range(self._max_retries):
            try:
                fresh = self._decide(item.command)
                if isinstance(fresh, Done):
                    item.future.set_result(fresh)
                    return
                positions = _last_positions(self._save(fresh.changed))
                item.future.set_result(_done(fresh, positions))
                return
            except IntegrityError:
                continue
            except Exception as exc:
                item.future.set_exception(exc)
                return
        item.future.set_exception(
            ConcurrentUpdate("the same items kept changing concurrently; please retry")
        )


def _last_positions(recordings: list[Recording]) -> dict[UUID, int]:
    positions: dict[UUID, int] = {}
    for r in recordings:
        positions[r.domain_event.originator_id] = r.notification.id
    return positions


def _done(item: Prepared, positions: dict[UUID, int]) -> Done:
    return Done(position=max(positions[a.id] for a in item.changed), id=item.result_id)
