"""Group commit: concurrent commands share a transaction, and none fails its neighbours."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from domain import Idea, Invite, Vote
from domain.errors import IdeaHidden, InvalidText
from domain.values import invite_id, vote_id
from jam import commands as c
from jam import committer as committer_module
from jam.application import JamApplication
from jam.committer import GroupCommitter
from jam.errors import ConcurrentUpdate, StoreUnavailable
from tests.stories import Scene, open_jam


def _ideas(scene: Scene, authors: list, n: int) -> list[c.PostIdea]:
    return [
        c.PostIdea(
            actor=authors[i % len(authors)],
            jam_id=scene.jam_id,
            idea_id=uuid4(),
            forum="health",
            title=f"Idea {i}",
            body="Body",
        )
        for i in range(n)
    ]


class _Interposed:
    """The application, with its `record` step replaced (to stage conflicts and failures)."""

    def __init__(self, app: JamApplication, record) -> None:
        self._app = app
        self.record = record

    def __getattr__(self, name: str):
        return getattr(self._app, name)


def _slow_committer(
    app: JamApplication, record=None, window_s: float = 0.3, retry_s: float = 5.0
) -> GroupCommitter:
    """A committer with a wide window, so commands sent together share a batch."""
    app.committer.stop()
    host = _Interposed(app, record) if record else app
    app.committer = GroupCommitter(host, window_s=window_s, retry_s=retry_s)
    return app.committer


def _together(app: JamApplication, cmds: list[c.Command]) -> list[object]:
    """Send commands at the same moment; return each one's Done or exception."""
    barrier = threading.Barrier(len(cmds))

    def send(cmd: c.Command) -> object:
        barrier.wait()
        try:
            return app.handle(cmd)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(cmds)) as pool:
        return list(pool.map(send, cmds))


def test_concurrent_commands_share_transactions_and_each_gets_its_own_position(app, clock):
    scene = open_jam(app, clock)
    authors = [scene.join(name=f"P{i}") for i in range(4)]
    start = app.position()
    cmds = _ideas(scene, authors, 200)
    batches_before = app.committer.stats.batches
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(app.handle, cmds))
    positions = [r.position for r in results]
    assert sorted(positions) == list(range(start + 1, start + 201))
    assert app.committer.stats.batches - batches_before < 200
    assert app.committer.stats.largest > 1
    for cmd, done in zip(cmds, results, strict=True):
        assert done.id == cmd.idea_id


def test_a_caller_is_answered_only_after_the_commit_is_visible_to_other_processes(
    settings, app, clock
):
    scene = open_jam(app, clock)
    ada = scene.join()
    with JamApplication(settings, clock=clock) as other:
        for done in ThreadPoolExecutor(8).map(app.handle, _ideas(scene, [ada], 40)):
            assert other.find(Idea, done.id) is not None


def test_a_bad_command_in_a_batch_fails_alone(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    hidden = scene.post_idea(ada)
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=hidden, reason="spam"))
    _slow_committer(app)
    good = _ideas(scene, [ada], 6)
    bad_text = msgspec.structs.replace(good[0], idea_id=uuid4(), title="")
    bad_vote = c.CastVote(actor=ada, idea_id=hidden, value=1)
    results = _together(app, [*good, bad_text, bad_vote])
    assert isinstance(results[-2], InvalidText)
    assert isinstance(results[-1], IdeaHidden)
    for cmd in good:
        assert app.find(Idea, cmd.idea_id) is not None


def test_a_command_whose_events_cannot_be_saved_fails_alone(app, clock):
    # Decided, then refused by the store's encoding (say, a value it cannot hold): the
    # neighbours it shared a batch with are saved one by one instead of failing with it.
    scene = open_jam(app, clock)
    ada = scene.join()
    cmds = _ideas(scene, [ada], 6)

    def unencodable(events):
        if any(getattr(e, "title", None) == "Idea 3" for e in events):
            raise OverflowError("date value out of range")
        return app.record(events)

    committer = _slow_committer(app, record=unencodable)
    results = _together(app, cmds)
    assert isinstance(results[3], OverflowError)
    assert app.find(Idea, cmds[3].idea_id) is None
    for i, cmd in enumerate(cmds):
        if i != 3:
            assert isinstance(results[i], c.Done), results[i]
            assert app.find(Idea, cmd.idea_id) is not None
    assert committer.stats.batches < len(cmds)  # they did share a batch


def test_two_first_votes_by_one_person_on_one_idea_in_one_batch_both_succeed(app, clock):
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    idea = scene.post_idea(ada)
    committer = _slow_committer(app)
    up = c.CastVote(actor=bob, idea_id=idea, value=1)
    down = c.CastVote(actor=bob, idea_id=idea, value=-1)
    neighbour = c.CastVote(actor=ada, idea_id=idea, value=1)
    results = _together(app, [up, down, neighbour])
    assert all(isinstance(r, c.Done) for r in results), results
    # One batch: the second vote saw the first and became a change, in one transaction.
    assert committer.stats.batches == 1
    vote = app.load(Vote, vote_id(idea, bob))
    assert vote.version == 2
    assert vote.value == (1 if results[0].position > results[1].position else -1)
    assert app.load(Vote, vote_id(idea, ada)).value == 1


def test_a_vote_sent_twice_in_one_batch_is_answered_where_the_first_landed(app, clock):
    # The second found the vote cast by the first (not yet saved) and changed nothing; it
    # was answered the log's position before the batch, so a read "after" it could miss
    # the very vote it reported.
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    idea = scene.post_idea(ada)
    _slow_committer(app)
    twice = [c.CastVote(actor=bob, idea_id=idea, value=1) for _ in range(4)]
    results = _together(app, twice)
    cast = app.recorder.position_of(vote_id(idea, bob), 1)
    assert all(r.position >= cast for r in results), (cast, results)


def test_a_conflict_with_another_writer_falls_back_to_one_by_one(settings, app, clock):
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    idea = scene.post_idea(ada)
    other = JamApplication(settings, clock=clock)
    conflicts = []

    def record_after_another_writer(events):
        if not conflicts:
            # Another process records Bob's first vote between our check and our save.
            conflicts.append(other.handle(c.CastVote(actor=bob, idea_id=idea, value=-1)))
        return app.record(events)

    committer = _slow_committer(app, record=record_after_another_writer)
    neighbours = _ideas(scene, [ada], 4)
    results = _together(app, [c.CastVote(actor=bob, idea_id=idea, value=1), *neighbours])
    other.close()
    assert all(isinstance(r, c.Done) for r in results), results
    assert committer.stats.retried == 5
    vote = app.load(Vote, vote_id(idea, bob))
    assert (vote.version, vote.value) == (2, 1)
    assert all(app.find(Idea, cmd.idea_id) for cmd in neighbours)


def test_what_another_process_changed_is_never_decided_on_from_the_cache(settings, app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    idea = scene.post_idea(ada)
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))  # the idea is now cached
    with JamApplication(settings, clock=clock) as other:
        other.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="spam"))
    with pytest.raises(IdeaHidden):
        app.handle(c.CastVote(actor=ada, idea_id=idea, value=-1))
    assert app.committer.stats.stale_rounds == 1


def test_endless_conflicts_give_up_with_a_clear_error(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()

    def always_conflicting(events):
        raise IntegrityError("duplicate key")

    committer = _slow_committer(app, record=always_conflicting, window_s=0, retry_s=0.5)
    started = time.monotonic()
    with pytest.raises(ConcurrentUpdate, match="retry"):
        app.handle(_ideas(scene, [ada], 1)[0])
    # Not at once: tried again, pausing, for as long as a caller is kept waiting.
    assert 0.5 <= time.monotonic() - started < 5
    assert committer.stats.retried == 1


def test_a_command_pausing_between_tries_does_not_hold_up_the_others(app, clock):
    # Ada's idea meets other processes' writes until released; meanwhile Bob's goes through.
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    first, second = _ideas(scene, [ada, bob], 2)
    conflicted, released = threading.Event(), threading.Event()

    def conflicting_for_ada(events):
        if events[0].originator_id == first.idea_id and not released.is_set():
            conflicted.set()
            raise IntegrityError("duplicate key")
        return app.record(events)

    _slow_committer(app, record=conflicting_for_ada, window_s=0, retry_s=30)
    with ThreadPoolExecutor(1) as pool:
        ada_waits = pool.submit(app.handle, first)
        assert conflicted.wait(5)
        assert isinstance(app.handle(second), c.Done)  # not after Ada's 30 s of tries
        assert not ada_waits.done()
        released.set()
        assert isinstance(ada_waits.result(timeout=5), c.Done)
    assert app.find(Idea, first.idea_id)
    assert app.find(Idea, second.idea_id)


def test_stopping_answers_the_commands_still_due_again(app, clock, monkeypatch):
    # The pause after a conflict is its longest, so the command is still due when stopped.
    monkeypatch.setattr(committer_module, "FIRST_PAUSE_S", 0.5)
    monkeypatch.setattr(committer_module, "random", SimpleNamespace(uniform=lambda a, b: b))
    scene = open_jam(app, clock)
    ada = scene.join()
    conflicted, conflicts = threading.Event(), iter(range(2))

    def conflicting_twice(events):  # in its batch, then on its first try alone
        if next(conflicts, None) is not None:
            conflicted.set()
            raise IntegrityError("duplicate key")
        return app.record(events)

    committer = _slow_committer(app, record=conflicting_twice, window_s=0)
    idea = _ideas(scene, [ada], 1)[0]
    answer = committer.enqueue(idea)
    assert conflicted.wait(5)
    committer.stop()
    assert isinstance(answer.result(timeout=0), c.Done)


def test_many_commands_pausing_do_not_hold_up_a_new_one(app, clock):
    # Each pass tries only those due when it began: a short pause put them back in the
    # heap, due again before the pass ended, and the new command waited until they gave up.
    scene = open_jam(app, clock)
    people = [scene.join(name=f"P{i}") for i in range(21)]
    *stuck, free = _ideas(scene, people, 21)
    stuck_ids = {i.idea_id for i in stuck}

    def conflicting_for_the_stuck(events):
        time.sleep(0.005)  # a round costs a few milliseconds, as against a real store
        if any(e.originator_id in stuck_ids for e in events):
            raise IntegrityError("duplicate key")
        return app.record(events)

    committer = _slow_committer(app, record=conflicting_for_the_stuck, window_s=0.002, retry_s=5)
    pausing = [committer.enqueue(i) for i in stuck]
    time.sleep(0.3)  # all of them tried, failed and put back
    assert isinstance(committer.enqueue(free).result(timeout=2.5), c.Done)
    assert not any(f.done() for f in pausing)  # still trying, until their callers waited 5 s
    committer.stop()
    assert all(isinstance(f.exception(timeout=0), ConcurrentUpdate) for f in pausing)


def test_a_command_failed_with_its_batch_is_not_saved_by_a_later_try(app, clock, monkeypatch):
    # Ada's idea pauses after a conflict; Bob's, tried next, finds the store unreachable,
    # which fails the batch: Ada is told so, and must not be saved by her next try.
    monkeypatch.setattr(committer_module, "random", SimpleNamespace(uniform=lambda a, b: 0.1))
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    first, second = _ideas(scene, [ada, bob], 2)
    tries = {first.idea_id: 0}

    def record(events):
        ids = {e.originator_id for e in events}
        if first.idea_id in ids and tries[first.idea_id] < 2:  # together, then alone
            tries[first.idea_id] += 1
            raise IntegrityError("duplicate key")
        return app.record(events)

    committer = _slow_committer(app, record=record)
    host = committer._host
    prepare = host.prepare

    def unreachable_for_bob(command, loader):
        if command is second and tries[first.idea_id] == 2:
            raise OperationalError("connection refused")
        return prepare(command, loader)

    host.prepare = unreachable_for_bob
    answers = [committer.enqueue(first), committer.enqueue(second)]
    assert all(
        isinstance(a.exception(timeout=5), StoreUnavailable | OperationalError) for a in answers
    )
    committer.stop()  # tries what is still due
    assert app.find(Idea, first.idea_id) is None


def test_a_command_sent_while_the_committer_stops_is_refused_not_left_waiting(
    app, clock, monkeypatch
):
    monkeypatch.setattr(committer_module, "FIRST_PAUSE_S", 0.5)
    monkeypatch.setattr(committer_module, "random", SimpleNamespace(uniform=lambda a, b: b))
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    first, second = _ideas(scene, [ada, bob], 2)
    conflicts = iter(range(2))

    def conflicting_twice(events):
        if events[0].originator_id == first.idea_id and next(conflicts, None) is not None:
            raise IntegrityError("duplicate key")
        return app.record(events)

    committer = _slow_committer(app, record=conflicting_twice, window_s=0)
    pausing = committer.enqueue(first)
    time.sleep(0.1)
    stopping = threading.Thread(target=committer.stop)
    stopping.start()
    time.sleep(0.1)  # the thread is still alive: it owes the first command its next try
    with pytest.raises(RuntimeError, match="stopped"):
        committer.enqueue(second)
    stopping.join()
    assert isinstance(pausing.result(timeout=0), c.Done)


def test_a_store_failure_fails_the_batch_and_writes_nothing(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    before = app.position()

    def unreachable(events):
        raise OperationalError("connection refused")

    _slow_committer(app, record=unreachable)
    results = _together(app, _ideas(scene, [ada], 3))
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert app.position() == before


def test_a_command_that_relied_on_a_batch_that_was_not_saved_is_decided_again(app, clock):
    # The second vote found the first one's (unsaved) vote and changed nothing; when the
    # batch failed to save, it was still answered Done, for a vote that did not exist.
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    idea = scene.post_idea(ada)
    failures = iter([OperationalError("connection refused")])

    def flaky(events):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return app.record(events)

    _slow_committer(app, record=flaky)
    results = _together(app, [c.CastVote(actor=bob, idea_id=idea, value=1) for _ in range(2)])
    done = [r for r in results if isinstance(r, c.Done)]
    assert len(done) == 1, results
    assert isinstance(next(r for r in results if not isinstance(r, c.Done)), StoreUnavailable)
    assert app.load(Vote, vote_id(idea, bob)).value == 1  # what was answered Done exists
    assert done[0].position >= app.recorder.position_of(vote_id(idea, bob), 1)


def test_an_unreachable_store_fails_the_whole_batch_at_its_first_read(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    reads = []

    class Unreachable(_Interposed):
        def fetch(self, ident):
            reads.append(ident)
            raise OperationalError("connection refused")

    app.committer.stop()
    app.committer = GroupCommitter(Unreachable(app, app.record), window_s=0.3)
    results = _together(app, _ideas(scene, [ada], 3))
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert len(reads) == 1  # not one wait for the store per command


def test_in_one_batch_a_refused_command_leaves_nothing_behind_for_the_next(app, clock):
    scene = open_jam(app, clock)
    app.handle(c.IssueInvite(code="one-seat", role="participant", jam_id=scene.jam_id))
    committer = _slow_committer(app)
    joins = [
        c.JoinJam(invite_code="one-seat", participant_id=uuid4(), display_name=name)
        for name in ("Ada", "", "Bob")  # the empty name is refused
    ]
    results = _together(app, joins)
    assert committer.stats.batches == 1
    outcomes = sorted(type(r).__name__ for r in results)
    # One join took the seat; the bad name failed on its own; the other found it taken.
    assert outcomes == ["Done", "InvalidText", "InviteUsedUp"]
    invite = app.load(Invite, invite_id("one-seat"))
    assert (invite.version, invite.redeemed) == (2, 1)


def test_submit_answers_without_holding_the_caller_and_maps_store_failures(app, clock):
    """For callers on an event loop: the answer comes on a future, errors as `handle` has them."""
    scene = open_jam(app, clock)
    ada = scene.join()

    async def submit(command):
        return await app.submit(command)

    done = asyncio.run(submit(_ideas(scene, [ada], 1)[0]))
    assert done.position == app.position()

    def unreachable(events):
        raise OperationalError("connection refused")

    _slow_committer(app, record=unreachable)
    with pytest.raises(StoreUnavailable):
        asyncio.run(submit(_ideas(scene, [ada], 1)[0]))
    assert app.position() == done.position
