"""The application layer: one entry point, atomic commands, idempotent retries."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain import Idea, Invite, Participant, Vote
from domain.errors import InvalidText, JamNotOpen, NotOrganizer
from domain.values import invite_id, vote_id
from jam import commands as c
from jam.application import JamApplication
from jam.errors import IdempotencyKeyReused, NotFound, NotSignedIn
from jam.receipts import receipt_id
from tests.stories import open_jam


def test_handling_a_command_returns_the_position_of_its_last_event(app, clock):
    scene = open_jam(app, clock)
    before = app.position()
    code = uuid4().hex
    app.handle(c.IssueInvite(code=code, role="participant", jam_id=scene.jam_id))
    done = app.handle(c.JoinJam(invite_code=code, participant_id=uuid4(), display_name="Ada"))
    # Joining redeems the invite and creates the participant: two events.
    assert done.position == before + 3 == app.position()
    assert isinstance(app.load(Participant, done.id), Participant)
    assert app.load(Invite, invite_id(code)).redeemed == 1


def test_a_refused_command_writes_nothing(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    before = app.position()
    with pytest.raises(InvalidText):
        app.handle(
            c.PostIdea(
                actor=ada, jam_id=scene.jam_id, idea_id=uuid4(), forum="health", title=" ", body="x"
            )
        )
    with pytest.raises(NotOrganizer):
        app.handle(c.CloseJam(actor=ada, jam_id=scene.jam_id))
    assert app.position() == before


def test_unknown_ids_and_missing_actors_get_clear_errors(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    with pytest.raises(NotFound, match="no idea with id"):
        app.handle(c.CastVote(actor=ada, idea_id=uuid4(), value=1))
    with pytest.raises(NotFound, match="no participant"):
        app.handle(c.CastVote(actor=uuid4(), idea_id=uuid4(), value=1))
    with pytest.raises(NotSignedIn):
        app.handle(c.CastVote(idea_id=uuid4(), value=1))


def test_the_application_clock_decides_the_jam_window(app, clock):
    scene = open_jam(app, clock, starts_in=timedelta(hours=1))
    ada = scene.join()
    with pytest.raises(JamNotOpen, match="opens at"):
        scene.post_idea(ada)
    clock.advance(timedelta(hours=1))
    idea = scene.post_idea(ada)
    assert app.load(Idea, idea).created_on == clock.now
    clock.advance(timedelta(hours=72))
    with pytest.raises(JamNotOpen, match="closed"):
        app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))


def test_setting_a_vote_to_the_value_it_has_writes_nothing(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    idea = scene.post_idea(ada)
    first = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    again = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    assert again.position == first.position == app.position()
    assert first.id == again.id == vote_id(idea, ada)
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=0))
    assert app.load(Vote, first.id).value == 0
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=-1))
    assert app.load(Vote, first.id).value == -1


def test_a_repeated_client_key_returns_the_first_result_and_writes_nothing(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    post = c.PostIdea(
        actor=ada,
        jam_id=scene.jam_id,
        idea_id=uuid4(),
        forum="health",
        title="Walking meetings",
        body="Outside, when it is sunny.",
        client_key="tab-1:post-7",
    )
    first = app.handle(post)
    clock.advance(timedelta(seconds=5))
    repeat = app.handle(post)  # a retry after a lost response
    assert repeat == first
    assert app.position() == first.position
    # The receipt is the command's last event, so its position is the command's.
    assert app.recorder.position_of(receipt_id(ada, "tab-1:post-7"), 1) == first.position


def test_a_client_key_survives_a_restart(settings, clock):
    first_app = JamApplication(settings, clock=clock)
    scene = open_jam(first_app, clock)
    ada = scene.join()
    vote = c.CastVote(actor=ada, idea_id=scene.post_idea(ada), value=1, client_key="k")
    first = first_app.handle(vote)
    first_app.close()
    with JamApplication(settings, clock=clock) as second_app:
        assert second_app.handle(vote) == first
        assert second_app.position() == first.position


def test_a_client_key_reused_for_a_different_request_is_refused(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    idea = scene.post_idea(ada)
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=1, client_key="k"))
    before = app.position()
    with pytest.raises(IdempotencyKeyReused):
        app.handle(c.CastVote(actor=ada, idea_id=idea, value=-1, client_key="k"))
    assert app.position() == before


def test_client_keys_belong_to_their_actor(app, clock):
    scene = open_jam(app, clock)
    ada, bob = scene.join(name="Ada"), scene.join(name="Bob")
    idea = scene.post_idea(ada)
    a = app.handle(c.CastVote(actor=ada, idea_id=idea, value=1, client_key="same"))
    b = app.handle(c.CastVote(actor=bob, idea_id=idea, value=1, client_key="same"))
    assert a.id != b.id
    assert b.position > a.position


def test_keyed_requests_get_stable_ids():
    actor = uuid4()
    assert JamApplication.new_id(actor, "k") == JamApplication.new_id(actor, "k")
    assert JamApplication.new_id(actor, "k") != JamApplication.new_id(uuid4(), "k")
    assert JamApplication.new_id() != JamApplication.new_id()


def test_a_pass_is_recorded_once_and_withdrawing_it_leaves_no_pass(app, clock):
    scene = open_jam(app, clock)
    ada = scene.join()
    idea = scene.post_idea(ada)
    first = app.handle(c.PassIdea(actor=ada, idea_id=idea))
    again = app.handle(c.PassIdea(actor=ada, idea_id=idea))
    assert again.position == first.position == app.position()
    vote = app.load(Vote, vote_id(idea, ada))
    assert (vote.value, vote.passed) == (0, True)
    # PUT vote 0 keeps its meaning: withdraw, which a pass is not.
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=0))
    assert app.position() == first.position + 1
    assert (app.load(Vote, vote.id).value, app.load(Vote, vote.id).passed) == (0, False)
    app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    app.handle(c.PassIdea(actor=ada, idea_id=idea))
    assert (app.load(Vote, vote.id).value, app.load(Vote, vote.id).passed) == (0, True)
