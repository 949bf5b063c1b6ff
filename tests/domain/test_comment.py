"""Comments: a discussion under a visible idea while the jam is open."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pytest

from domain import Comment, Idea, Jam, Participant
from domain.comment import REPLY_DEPTH_MAX
from domain.errors import (
    CommentHidden,
    ConflictingState,
    IdeaHidden,
    InvalidText,
    InvalidValue,
    JamNotOpen,
    NotAuthor,
    NotOrganizer,
    OtherJam,
    ParticipantBlocked,
)
from tests.domain.builders import (
    DURING,
    MINUTE,
    OUTSIDE,
    STARTS,
    a_moment_outside_the_window,
    an_idea_in_an_open_jam,
    block,
    create_jam,
    join,
    post,
    replay,
)


def comment(
    jam: Jam,
    idea: Idea,
    author: Participant,
    *,
    body: str = "Yes, please.",
    parent: Comment | None = None,
    at: datetime = DURING,
) -> Comment:
    return Comment.post(
        comment_id=uuid4(), idea=idea, jam=jam, author=author, parent=parent, body=body, at=at
    )


# Posting


def test_a_participant_comments_on_an_idea_and_replies_nest() -> None:
    jam, idea = an_idea_in_an_open_jam()
    ada, bob = join(jam=jam), join(jam=jam)
    first = comment(jam, idea, ada)
    reply = comment(jam, idea, bob, body="Why?", parent=first)
    answer = comment(jam, idea, ada, body="Rest.", parent=reply)
    assert (first.idea_id, first.jam_id, first.author_id) == (idea.id, jam.id, ada.id)
    assert (first.parent_id, first.depth) == (None, 0)
    assert (reply.parent_id, reply.depth) == (first.id, 1)
    assert (answer.parent_id, answer.depth) == (reply.id, 2)


def test_a_reply_is_on_the_same_idea_as_its_parent() -> None:
    jam, idea = an_idea_in_an_open_jam()
    _, other_idea = an_idea_in_an_open_jam()
    parent = comment(jam, idea, join(jam=jam))
    with pytest.raises(ConflictingState):
        comment(jam, other_idea, join(jam=jam), parent=parent)


def test_replies_nest_only_so_deep() -> None:
    # A chain of hundreds of replies made the thread's page fail for every reader.
    jam, idea = an_idea_in_an_open_jam()
    ada = join(jam=jam)
    last = comment(jam, idea, ada)
    for _ in range(REPLY_DEPTH_MAX):
        last = comment(jam, idea, ada, parent=last)
    assert last.depth == REPLY_DEPTH_MAX
    with pytest.raises(InvalidValue, match="reply to an earlier comment"):
        comment(jam, idea, ada, parent=last)


def test_no_one_replies_to_a_hidden_comment() -> None:
    jam, idea = an_idea_in_an_open_jam()
    organizer = join("organizer", jam)
    parent = comment(jam, idea, join(jam=jam))
    parent.hide(reason="Rude", by=organizer, at=DURING)
    with pytest.raises(ConflictingState, match="hidden"):
        comment(jam, idea, join(jam=jam), parent=parent, at=DURING + MINUTE)
    parent.restore(reason="Apologised", by=organizer, at=DURING + 2 * MINUTE)
    assert comment(jam, idea, join(jam=jam), parent=parent, at=DURING + 3 * MINUTE).depth == 1


def test_no_one_comments_on_a_hidden_idea() -> None:
    jam, idea = an_idea_in_an_open_jam()
    organizer = join("organizer", jam)
    idea.hide(reason="Off topic", by=organizer, at=DURING)
    with pytest.raises(IdeaHidden):
        comment(jam, idea, join(jam=jam), at=DURING + MINUTE)
    with pytest.raises(IdeaHidden):
        comment(jam, idea, organizer, at=DURING + MINUTE)
    idea.restore(reason="Fine", by=organizer, at=DURING + 2 * MINUTE)
    assert comment(jam, idea, join(jam=jam), at=DURING + 3 * MINUTE).idea_id == idea.id


@pytest.mark.parametrize("when", OUTSIDE)
def test_no_one_comments_outside_the_jams_open_window(when: str) -> None:
    jam, idea = an_idea_in_an_open_jam()
    with pytest.raises(JamNotOpen):
        comment(jam, idea, join(jam=jam), at=a_moment_outside_the_window(when, jam))


def test_a_blocked_participant_cannot_comment() -> None:
    jam, idea = an_idea_in_an_open_jam()
    ada = join(jam=jam)
    block(ada)
    with pytest.raises(ParticipantBlocked):
        comment(jam, idea, ada)


def test_a_participant_of_another_jam_cannot_comment() -> None:
    jam, idea = an_idea_in_an_open_jam()
    with pytest.raises(OtherJam):
        comment(jam, idea, join(jam=create_jam()))


@pytest.mark.parametrize("body", ["b" * 5_000, "  " + "b" * 5_000 + "\n"])
def test_a_comment_of_up_to_5000_characters_is_accepted(body: str) -> None:
    jam, idea = an_idea_in_an_open_jam()
    assert comment(jam, idea, join(jam=jam), body=body).body == "b" * 5_000


@pytest.mark.parametrize("body", ["b" * 5_001, "", "\n \t\n"], ids=["5001", "empty", "whitespace"])
def test_a_comment_has_1_to_5000_characters(body: str) -> None:
    jam, idea = an_idea_in_an_open_jam()
    with pytest.raises(InvalidText):
        comment(jam, idea, join(jam=jam), body=body)


def test_a_comment_keeps_its_newlines_but_not_control_characters() -> None:
    jam, idea = an_idea_in_an_open_jam()
    posted = comment(jam, idea, join(jam=jam), body="Cafe\u0301\x07\r\n\u202eSecond line")
    assert posted.body == "Caf\u00e9\nSecond line"


# Editing


def test_the_author_edits_their_comment() -> None:
    jam, idea = an_idea_in_an_open_jam()
    ada = join(jam=jam)
    posted = comment(jam, idea, ada)
    posted.edit(body="Yes, from June.", by=ada, idea=idea, jam=jam, at=DURING + MINUTE)
    assert posted.body == "Yes, from June."


@pytest.mark.parametrize("role", ["participant", "organizer", "leader"])
def test_only_the_author_edits_a_comment(role: str) -> None:
    jam, idea = an_idea_in_an_open_jam()
    posted = comment(jam, idea, join(jam=jam))
    with pytest.raises(NotAuthor):
        posted.edit(body="Mine now.", by=join(role, jam), idea=idea, jam=jam, at=DURING)


def test_a_blocked_author_cannot_edit_their_comment() -> None:
    jam, idea = an_idea_in_an_open_jam()
    ada = join(jam=jam)
    posted = comment(jam, idea, ada)
    block(ada)
    with pytest.raises(ParticipantBlocked):
        posted.edit(body="Changed.", by=ada, idea=idea, jam=jam, at=DURING + MINUTE)


@pytest.mark.parametrize("when", OUTSIDE)
def test_no_comment_is_edited_outside_the_jams_open_window(when: str) -> None:
    jam, idea = an_idea_in_an_open_jam()
    ada = join(jam=jam)
    posted = comment(jam, idea, ada)
    at = a_moment_outside_the_window(when, jam)
    with pytest.raises(JamNotOpen):
        posted.edit(body="Changed.", by=ada, idea=idea, jam=jam, at=at)


def test_an_edit_keeps_to_the_limits_and_must_change_something() -> None:
    jam, idea = an_idea_in_an_open_jam()
    ada = join(jam=jam)
    posted = comment(jam, idea, ada)
    with pytest.raises(InvalidText):
        posted.edit(body="b" * 5_001, by=ada, idea=idea, jam=jam, at=DURING)
    with pytest.raises(ConflictingState):
        posted.edit(body=" Yes, please. ", by=ada, idea=idea, jam=jam, at=DURING)


def test_a_hidden_comment_is_not_rewritten_until_an_organizer_restores_it() -> None:
    # An organizer hid it for what it said: rewritten meanwhile, a restore would be judged
    # on the old text and bring back the new one, which no one reviewed.
    jam, idea = an_idea_in_an_open_jam()
    ada, organizer = join(jam=jam), join("organizer", jam)
    posted = comment(jam, idea, ada, body="Rude words.")
    posted.hide(reason="Rude", by=organizer, at=DURING)
    with pytest.raises(CommentHidden, match="once an organizer restores it"):
        posted.edit(body="Something else.", by=ada, idea=idea, jam=jam, at=DURING + MINUTE)
    assert posted.body == "Rude words."
    posted.restore(reason="Reviewed", by=organizer, at=DURING + 2 * MINUTE)
    posted.edit(body="Kinder words.", by=ada, idea=idea, jam=jam, at=DURING + 3 * MINUTE)
    assert posted.body == "Kinder words."


def test_no_comment_on_a_hidden_idea_is_rewritten_until_the_idea_is_restored() -> None:
    jam, idea = an_idea_in_an_open_jam()
    ada, organizer = join(jam=jam), join("organizer", jam)
    posted = comment(jam, idea, ada)
    idea.hide(reason="Off topic", by=organizer, at=DURING)
    with pytest.raises(IdeaHidden):
        posted.edit(body="Changed.", by=ada, idea=idea, jam=jam, at=DURING + MINUTE)
    assert posted.body == "Yes, please."
    idea.restore(reason="Fine", by=organizer, at=DURING + 2 * MINUTE)
    posted.edit(body="Changed.", by=ada, idea=idea, jam=jam, at=DURING + 3 * MINUTE)
    assert posted.body == "Changed."


def test_a_comment_is_edited_with_its_own_idea_only() -> None:
    jam, idea = an_idea_in_an_open_jam()
    other = post(jam, join(jam=jam))
    ada = join(jam=jam)
    posted = comment(jam, idea, ada)
    with pytest.raises(ConflictingState, match="another idea"):
        posted.edit(body="Changed.", by=ada, idea=other, jam=jam, at=DURING)


# Moderating


def hide(posted: Comment, by: Participant) -> None:
    posted.hide(reason="Rude", by=by, at=DURING)


def restore(posted: Comment, by: Participant) -> None:
    posted.hide(reason="Rude", by=join("organizer"), at=DURING)
    posted.restore(reason="Apologised", by=by, at=DURING + MINUTE)


@pytest.mark.parametrize("moderate", [hide, restore])
@pytest.mark.parametrize("role", ["participant", "leader"])
def test_only_organizers_hide_or_restore_comments(moderate, role: str) -> None:
    jam, idea = an_idea_in_an_open_jam()
    posted = comment(jam, idea, join(jam=jam))
    with pytest.raises(NotOrganizer):
        moderate(posted, join(role, jam))


@pytest.mark.parametrize("moderate", [hide, restore])
def test_an_organizer_of_another_jam_cannot_hide_or_restore_comments(moderate) -> None:
    jam, idea = an_idea_in_an_open_jam()
    posted = comment(jam, idea, join(jam=jam))
    with pytest.raises(NotOrganizer):
        moderate(posted, join("organizer", create_jam()))


@pytest.mark.parametrize("organizer_of", ["this jam", "no jam"])
def test_an_organizer_of_this_jam_or_of_no_jam_hides_and_restores_a_comment(
    organizer_of: str,
) -> None:
    jam, idea = an_idea_in_an_open_jam()
    posted = comment(jam, idea, join(jam=jam))
    organizer = join("organizer", jam if organizer_of == "this jam" else None)
    posted.hide(reason="Rude", by=organizer, at=DURING)
    assert posted.hidden
    with pytest.raises(ConflictingState):
        posted.hide(reason="Rude", by=organizer, at=DURING)
    posted.restore(reason="Apologised", by=organizer, at=DURING + MINUTE)
    assert not posted.hidden
    with pytest.raises(ConflictingState):
        posted.restore(reason="Apologised", by=organizer, at=DURING + MINUTE)


# Events


def a_comment_with_a_history() -> Comment:
    jam, idea = an_idea_in_an_open_jam()
    ada, organizer = join(jam=jam), join("organizer", jam)
    parent = comment(jam, idea, join(jam=jam), at=STARTS)
    posted = comment(jam, idea, ada, parent=parent, at=DURING)
    posted.edit(body="Yes, from June.", by=ada, idea=idea, jam=jam, at=DURING + MINUTE)
    posted.hide(reason="Rude", by=organizer, at=DURING + 2 * MINUTE)
    posted.restore(reason="Apologised", by=organizer, at=DURING + 3 * MINUTE)
    return posted


def test_comment_events_are_past_tense_and_stamped_with_the_given_time() -> None:
    events = a_comment_with_a_history().collect_events()
    assert [type(e).__name__ for e in events] == ["Posted", "Edited", "Hidden", "Restored"]
    assert [e.timestamp for e in events] == [DURING + n * MINUTE for n in range(4)]


def test_replaying_a_comments_events_rebuilds_the_same_comment() -> None:
    posted = a_comment_with_a_history()
    rebuilt = replay(posted.collect_events())
    assert vars(rebuilt) == vars(posted)
    assert (rebuilt.body, rebuilt.depth, rebuilt.hidden) == ("Yes, from June.", 1, False)
