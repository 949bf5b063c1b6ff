"""Random command sequences through JamApplication keep every rule of the domain.

A model of what should have happened runs beside the real application: each command
is either accepted (and the model changes) or refused with the error the rules name
(and nothing changes). After every step the log and the read models built from it
must agree with the model. OPENJAM_FUZZ_EXAMPLES runs more sequences (default 20).
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.errors import (
    ConflictingState,
    DomainError,
    IdeaHidden,
    InvalidText,
    InvalidValue,
    JamNotOpen,
    NotPermitted,
)
from domain.topics import TopicBoard, topic_board_id
from domain.values import vote_id
from domain.vote import Vote
from jam import commands as c
from jam.application import JamApplication
from jam.clock import ManualClock
from jam.settings import Settings
from projections import queries
from projections.db import SQLiteViews
from tests.conftest import T0
from tests.projections.conftest import runner_for
from tests.stories import open_jam

EXAMPLES = int(os.environ.get("OPENJAM_FUZZ_EXAMPLES", "20"))
PEOPLE = 3
CLUSTERS = ("t1", "t2", "t3", "t2.1")
DECISIONS = ("shortlisted", "funded", "parked", "declined", "maybe")  # the last is no decision


class JamSequences(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        root = Path(self._dir.name)
        self.clock = ManualClock(T0)
        self.app = JamApplication(
            Settings(data_dir=root / "var", sqlite_synchronous="NORMAL", group_commit=False),
            clock=self.clock,
        )
        self.scene = open_jam(self.app, self.clock)
        self.people = [self.scene.join(name=f"P{i}") for i in range(PEOPLE)]
        self.leader = self.scene.join(role="leader", name="Lee")
        self.runner = runner_for(self.app, SQLiteViews(root / "views.sqlite3"))
        # The model.
        self.ideas: list[UUID] = []
        self.authors: dict[UUID, UUID] = {}
        self.votes: dict[tuple[UUID, UUID], int] = {}
        self.comments: dict[UUID, int] = {}
        self.hidden: set[UUID] = set()
        self.blocked: set[UUID] = set()
        self.closed = False
        self.flags: dict[UUID, list[UUID]] = {}  # who flagged each idea, in order
        self.reviewed: dict[UUID, int] = {}  # how many of those an organizer has reviewed
        self.duplicate_of: dict[UUID, UUID] = {}
        self.decisions: dict[UUID, str] = {}
        self.labels: dict[str, str] = {}
        self.pinned: set[str] = set()
        self.retired: set[str] = set()

    def teardown(self) -> None:
        self.runner.views.close()
        self.app.close()
        self._dir.cleanup()

    def _expect(self, command: c.Command, refusals: list[type[DomainError]]) -> bool:
        """Handle `command`; it must be refused iff a rule applies. True if accepted."""
        before = self.app.position()
        refused: DomainError | None = None
        try:
            self.app.handle(command)
        except DomainError as exc:
            refused = exc
        if refused is None:
            assert not refusals, f"{type(command).__name__} accepted despite {refusals}"
            return True
        assert refusals, f"{type(command).__name__} refused: {refused!r}"
        assert isinstance(refused, tuple(refusals)), f"{refused!r} is not one of {refusals}"
        assert self.app.position() == before  # a refused command writes nothing
        return False

    def _unreviewed(self, idea: UUID) -> list[UUID]:
        """Who flagged `idea` since an organizer last reviewed it (restored it, or dismissed)."""
        return self.flags.get(idea, [])[self.reviewed.get(idea, 0) :]

    def _writer_refusals(self, person: UUID) -> list[type[DomainError]]:
        found: list[type[DomainError]] = []
        if self.closed:
            found.append(JamNotOpen)
        if person in self.blocked:
            found.append(NotPermitted)
        return found

    # Participants
    # Titles from a plain alphabet: what counts as blank text is tested in tests/domain.
    @rule(i=st.integers(0, PEOPLE - 1), title=st.text(alphabet="ab ", max_size=30))
    def post_idea(self, i: int, title: str) -> None:
        person, idea_id = self.people[i], uuid4()
        command = c.PostIdea(
            actor=person,
            jam_id=self.scene.jam_id,
            idea_id=idea_id,
            forum="health",
            title=title,
            body="Body",
        )
        refusals = self._writer_refusals(person)
        if not title.strip():
            refusals.append(InvalidText)
        if self._expect(command, refusals):
            self.ideas.append(idea_id)
            self.authors[idea_id] = person
            self.comments[idea_id] = 0

    @precondition(lambda self: self.ideas)
    @rule(i=st.integers(0, PEOPLE - 1), n=st.integers(0, 1000), value=st.sampled_from([1, -1, 0]))
    def vote(self, i: int, n: int, value: int) -> None:
        person, idea = self.people[i], self.ideas[n % len(self.ideas)]
        refusals = self._writer_refusals(person)
        if idea in self.hidden and value != 0:  # a vote may be withdrawn from a hidden idea
            refusals.append(IdeaHidden)
        command = c.CastVote(actor=person, idea_id=idea, value=value)
        if self._expect(command, refusals):
            if value:
                self.votes[(idea, person)] = value
            else:
                self.votes.pop((idea, person), None)

    @precondition(lambda self: self.ideas)
    @rule(i=st.integers(0, PEOPLE - 1), n=st.integers(0, 1000))
    def comment(self, i: int, n: int) -> None:
        person, idea = self.people[i], self.ideas[n % len(self.ideas)]
        refusals = self._writer_refusals(person)
        if idea in self.hidden:
            refusals.append(IdeaHidden)
        command = c.PostComment(actor=person, comment_id=uuid4(), idea_id=idea, body="Reply")
        if self._expect(command, refusals):
            self.comments[idea] += 1

    # Organizers
    @precondition(lambda self: self.ideas)
    @rule(n=st.integers(0, 1000), hide=st.booleans())
    def moderate(self, n: int, hide: bool) -> None:
        idea = self.ideas[n % len(self.ideas)]
        kind = c.HideIdea if hide else c.RestoreIdea
        command = kind(actor=self.scene.organizer, idea_id=idea, reason="moderated")
        try:
            self.app.handle(command)
        except DomainError:
            # Hiding a hidden idea or restoring a visible one is a conflict; nothing changes.
            assert (idea in self.hidden) == hide
            return
        (self.hidden.add if hide else self.hidden.discard)(idea)
        if not hide:
            self.reviewed[idea] = len(self.flags.get(idea, []))

    @rule(i=st.integers(0, PEOPLE - 1), block=st.booleans())
    def block(self, i: int, block: bool) -> None:
        person = self.people[i]
        kind = c.BlockParticipant if block else c.UnblockParticipant
        try:
            self.app.handle(kind(actor=self.scene.organizer, participant_id=person, reason="r"))
        except DomainError:
            assert (person in self.blocked) == block
            return
        (self.blocked.add if block else self.blocked.discard)(person)

    @rule(i=st.integers(0, PEOPLE - 1))
    def participants_cannot_close_the_jam(self, i: int) -> None:
        command = c.CloseJam(actor=self.people[i], jam_id=self.scene.jam_id)
        assert not self._expect(command, [NotPermitted, JamNotOpen])

    @rule()
    def close(self) -> None:
        command = c.CloseJam(actor=self.scene.organizer, jam_id=self.scene.jam_id)
        if self.closed:
            assert not self._expect(command, [DomainError])
        else:
            assert self._expect(command, [])
            self.closed = True

    @precondition(lambda self: self.ideas)
    @rule(i=st.integers(0, PEOPLE - 1), n=st.integers(0, 1000))
    def flag(self, i: int, n: int) -> None:
        person, idea = self.people[i], self.ideas[n % len(self.ideas)]
        refusals: list[type[DomainError]] = []
        if person in self.blocked:
            refusals.append(NotPermitted)
        if person in self._unreviewed(idea) or person == self.authors[idea]:
            refusals.append(ConflictingState)
        if idea in self.hidden:
            refusals.append(IdeaHidden)
        if self._expect(c.FlagIdea(actor=person, idea_id=idea, reason="off topic"), refusals):
            self.flags.setdefault(idea, []).append(person)

    @precondition(lambda self: self.ideas)
    @rule(n=st.integers(0, 1000))
    def dismiss_flags(self, n: int) -> None:
        idea = self.ideas[n % len(self.ideas)]
        refusals: list[type[DomainError]] = []
        if idea in self.hidden or not self._unreviewed(idea):
            refusals.append(ConflictingState)
        command = c.DismissFlags(actor=self.scene.organizer, idea_id=idea, reason="kept")
        if self._expect(command, refusals):
            self.reviewed[idea] = len(self.flags.get(idea, []))

    @precondition(lambda self: self.ideas)
    @rule(n=st.integers(0, 1000), m=st.integers(0, 1000))
    def mark_duplicate(self, n: int, m: int) -> None:
        idea, original = self.ideas[n % len(self.ideas)], self.ideas[m % len(self.ideas)]
        root = self.duplicate_of.get(original, original)  # a duplicate's link goes to its root
        refusals: list[type[DomainError]] = []
        if root == idea:  # itself, or its own duplicate
            refusals.append(ConflictingState)
        if idea in self.duplicate_of.values():  # an original stays one while it has duplicates
            refusals.append(ConflictingState)
        if idea in self.decisions:  # it would leave the shortlist with the leaders' decision
            refusals.append(ConflictingState)
        if self.duplicate_of.get(idea) == root:
            refusals = []  # linked there already: nothing to do, nothing refused
        command = c.MarkDuplicate(actor=self.scene.organizer, idea_id=idea, original_id=original)
        if self._expect(command, refusals):
            self.duplicate_of[idea] = root

    @precondition(lambda self: self.ideas)
    @rule(n=st.integers(0, 1000))
    def unmark_duplicate(self, n: int) -> None:
        idea = self.ideas[n % len(self.ideas)]
        if self._expect(c.UnmarkDuplicate(actor=self.scene.organizer, idea_id=idea), []):
            self.duplicate_of.pop(idea, None)  # no link: nothing to remove, nothing refused

    @precondition(lambda self: self.ideas)
    @rule(n=st.integers(0, 1000), decision=st.sampled_from(DECISIONS), leader=st.booleans())
    def decide(self, n: int, decision: str, leader: bool) -> None:
        idea = self.ideas[n % len(self.ideas)]
        who = self.leader if leader else self.scene.organizer
        refusals: list[type[DomainError]] = [] if leader else [NotPermitted]
        if decision == "maybe":
            refusals.append(InvalidValue)
        if idea in self.hidden:
            refusals.append(IdeaHidden)
        command = c.RecordDecision(actor=who, idea_id=idea, decision=decision, note="n")
        if self._expect(command, refusals):
            self.decisions[idea] = decision

    @precondition(lambda self: self.ideas)
    @rule(
        action=st.sampled_from(["rename", "pin", "unpin", "merge", "split"]),
        a=st.sampled_from(CLUSTERS),
        b=st.sampled_from(CLUSTERS),
        size=st.integers(1, 3),
        label=st.sampled_from(["Work", "Health"]),
    )
    def shape_topics(self, action: str, a: str, b: str, size: int, label: str) -> None:
        jam, who, ideas = self.scene.jam_id, self.scene.organizer, tuple(self.ideas[:size])
        refusals: list[type[DomainError]] = []
        if a in self.retired or (action == "merge" and b in self.retired):
            refusals.append(ConflictingState)
        command: c.Command
        if action == "rename":
            if self.labels.get(a) == label:
                refusals.append(ConflictingState)
            command = c.RenameCluster(actor=who, jam_id=jam, cluster_id=a, label=label)
        elif action == "pin":
            if a in self.pinned:
                refusals.append(ConflictingState)
            command = c.PinCluster(actor=who, jam_id=jam, cluster_id=a, ideas=ideas)
        elif action == "unpin":
            if a not in self.pinned:
                refusals.append(ConflictingState)
            command = c.UnpinCluster(actor=who, jam_id=jam, cluster_id=a)
        elif action == "merge":
            if a == b:
                refusals.append(ConflictingState)
            command = c.MergeClusters(actor=who, jam_id=jam, cluster_id=a, into=b, ideas=ideas)
        else:
            if len(set(ideas)) < 2:
                refusals.append(InvalidValue)
            command = c.SplitCluster(actor=who, jam_id=jam, cluster_id=a, ideas=ideas)
        if not self._expect(command, refusals):
            return
        if action == "rename":
            self.labels[a] = label
        elif action == "pin":
            self.pinned.add(a)
        elif action == "unpin":
            self.pinned.discard(a)
        else:
            self.retired.add(a)
            self.pinned.discard(a)

    @rule(minutes=st.integers(0, 120))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    # What must always hold
    @invariant()
    def one_vote_per_person_per_idea_and_it_is_the_last_one_cast(self) -> None:
        for idea in self.ideas:
            for person in self.people:
                vote = self.app.find(Vote, vote_id(idea, person))
                assert (vote.value if vote else 0) == self.votes.get((idea, person), 0)

    @invariant()
    def the_read_models_tally_the_votes_and_comments(self) -> None:
        self.runner.catch_up()
        with self.runner.views.reading() as cur:
            for idea in self.ideas:
                thread = queries.thread(cur, str(idea), include_hidden=True)
                assert thread is not None
                ups = sum(1 for (i, _), v in self.votes.items() if i == idea and v > 0)
                downs = sum(1 for (i, _), v in self.votes.items() if i == idea and v < 0)
                assert (thread.idea.up, thread.idea.down) == (ups, downs)
                assert thread.idea.comments == self.comments[idea]
                assert thread.idea.hidden == (idea in self.hidden)
                assert (queries.thread(cur, str(idea)) is None) == (idea in self.hidden)
                original = self.duplicate_of.get(idea)
                assert thread.idea.duplicate_of == (str(original) if original else None)
                assert thread.idea.decision == self.decisions.get(idea)
            queue = queries.moderation_queue(cur, str(self.scene.jam_id))
            flags = {f.idea_id: f.flags for f in queue.flagged}
            # Hidden ideas with all their flags; others with the flags since their last restore.
            open_flags = {
                i: by if i in self.hidden else self._unreviewed(i) for i, by in self.flags.items()
            }
            assert flags == {str(i): len(by) for i, by in open_flags.items() if by}

    @invariant()
    def every_duplicate_links_to_a_root(self) -> None:
        assert not set(self.duplicate_of.values()) & set(self.duplicate_of), "a chain"

    @invariant()
    def duplicates_never_form_a_cycle(self) -> None:
        for start in self.duplicate_of:
            seen, at = {start}, start
            while at in self.duplicate_of:
                at = self.duplicate_of[at]
                assert at not in seen, "a cycle of duplicates"
                seen.add(at)

    @invariant()
    def the_topic_board_is_what_the_organizers_decided(self) -> None:
        board = self.app.find(TopicBoard, topic_board_id(self.scene.jam_id))
        if board is None:
            assert not self.labels
            assert not self.pinned
            assert not self.retired
            return
        assert (board.labels, board.pinned, board.retired) == (
            self.labels,
            self.pinned,
            self.retired,
        )


JamSequences.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_command_sequences_keep_every_invariant = JamSequences.TestCase
