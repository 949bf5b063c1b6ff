"""Ideas: posted while a jam is open, edited by their authors, moderated by organizers."""

from __future__ import annotations

import pytest

from domain import Idea, Jam, Participant
from domain.errors import (
    ConflictingState,
    IdeaHidden,
    InvalidText,
    InvalidValue,
    JamNotOpen,
    NotAuthor,
    NotLeader,
    NotOrganizer,
    OtherJam,
    ParticipantBlocked,
    UnknownForum,
)
from tests.domain.builders import (
    DURING,
    ENDS,
    MINUTE,
    OUTSIDE,
    a_moment_outside_the_window,
    block,
    create_jam,
    join,
    post,
    replay,
)

# Posting


def test_a_participant_posts_an_idea_in_a_forum_of_an_open_jam() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    idea = post(jam, ada, title="  Four-day   week ", body="Try it\nfor a quarter.\n")
    assert (idea.jam_id, idea.forum, idea.author_id) == (jam.id, "future-of-work", ada.id)
    assert (idea.title, idea.body) == ("Four-day week", "Try it\nfor a quarter.")
    assert idea.author_segment == "employee"
    assert not idea.hidden
    assert idea.duplicate_of is None
    assert idea.decision is None


@pytest.mark.parametrize("when", OUTSIDE)
def test_nothing_is_posted_outside_the_jams_open_window(when: str) -> None:
    jam = create_jam()
    with pytest.raises(JamNotOpen):
        post(jam, join(jam=jam), at=a_moment_outside_the_window(when, jam))


def test_an_idea_is_posted_in_one_of_the_jams_forums() -> None:
    jam = create_jam()
    with pytest.raises(UnknownForum):
        post(jam, join(jam=jam), forum="health")


def test_a_blocked_participant_cannot_post_an_idea() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    block(ada)
    with pytest.raises(ParticipantBlocked):
        post(jam, ada)


def test_a_participant_of_another_jam_cannot_post_an_idea() -> None:
    jam = create_jam()
    with pytest.raises(OtherJam):
        post(jam, join(jam=create_jam()))


def test_an_organizer_of_no_jam_may_post_in_any_jam() -> None:
    jam = create_jam()
    assert post(jam, join("organizer")).jam_id == jam.id


@pytest.mark.parametrize("title", ["t" * 120, " " + "t" * 120 + " "])
def test_a_title_of_up_to_120_characters_is_accepted(title: str) -> None:
    jam = create_jam()
    assert post(jam, join(jam=jam), title=title).title == "t" * 120


@pytest.mark.parametrize("title", ["t" * 121, "", "  \t "], ids=["121", "empty", "whitespace"])
def test_a_title_must_have_1_to_120_characters(title: str) -> None:
    jam = create_jam()
    with pytest.raises(InvalidText):
        post(jam, join(jam=jam), title=title)


@pytest.mark.parametrize("body", ["b" * 5_000, "\n" + "b" * 5_000 + "\n "])
def test_a_body_of_up_to_5000_characters_is_accepted(body: str) -> None:
    jam = create_jam()
    assert post(jam, join(jam=jam), body=body).body == "b" * 5_000


@pytest.mark.parametrize("body", ["b" * 5_001, "", " \n\n "], ids=["5001", "empty", "whitespace"])
def test_a_body_must_have_1_to_5000_characters(body: str) -> None:
    jam = create_jam()
    with pytest.raises(InvalidText):
        post(jam, join(jam=jam), body=body)


def test_an_ideas_text_is_stored_normalised() -> None:
    jam = create_jam()
    idea = post(
        jam, join(jam=jam), title="Caf\x07e\u0301 \u202ehours", body="Line\x00 one\nline two"
    )
    assert idea.title == "Caf\u00e9 hours"
    assert idea.body == "Line one\nline two"


# Editing


def test_the_author_edits_their_idea() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    idea = post(jam, ada)
    idea.edit(title="Four-day week, paid", body="Same pay.", by=ada, jam=jam, at=DURING)
    assert (idea.title, idea.body) == ("Four-day week, paid", "Same pay.")


def test_an_edit_may_change_the_title_or_the_body_alone() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    idea = post(jam, ada)
    body = idea.body
    idea.edit(title="Four-day week, paid", body=None, by=ada, jam=jam, at=DURING)
    assert (idea.title, idea.body) == ("Four-day week, paid", body)
    idea.edit(title=None, body="Same pay.", by=ada, jam=jam, at=DURING)
    assert (idea.title, idea.body) == ("Four-day week, paid", "Same pay.")
    with pytest.raises(InvalidValue):
        idea.edit(title=None, body=None, by=ada, jam=jam, at=DURING)


def test_a_hidden_idea_is_not_edited_until_it_is_restored() -> None:
    jam = create_jam()
    ada, organizer = join(jam=jam), join("organizer", jam)
    idea = post(jam, ada)
    idea.hide(reason="rude", by=organizer, at=DURING)
    with pytest.raises(IdeaHidden):
        idea.edit(title="Nicer now", body=None, by=ada, jam=jam, at=DURING)
    idea.restore(reason="ok", by=organizer, at=DURING)
    idea.edit(title="Nicer now", body=None, by=ada, jam=jam, at=DURING)
    assert idea.title == "Nicer now"


@pytest.mark.parametrize("role", ["participant", "organizer", "leader"])
def test_only_the_author_edits_an_idea(role: str) -> None:
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    with pytest.raises(NotAuthor):
        idea.edit(title="Mine now", body="Ha.", by=join(role, jam), jam=jam, at=DURING)


def test_a_blocked_author_cannot_edit_their_idea() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    idea = post(jam, ada)
    block(ada)
    with pytest.raises(ParticipantBlocked):
        idea.edit(title="Changed", body="Changed.", by=ada, jam=jam, at=DURING)


@pytest.mark.parametrize("when", OUTSIDE)
def test_nothing_is_edited_outside_the_jams_open_window(when: str) -> None:
    jam = create_jam()
    ada = join(jam=jam)
    idea = post(jam, ada)
    at = a_moment_outside_the_window(when, jam)
    with pytest.raises(JamNotOpen):
        idea.edit(title="Changed", body="Changed.", by=ada, jam=jam, at=at)


@pytest.mark.parametrize(("title", "body"), [("t" * 121, "ok"), (" ", "ok"), ("ok", "b" * 5_001)])
def test_an_edit_keeps_to_the_text_limits(title: str, body: str) -> None:
    jam = create_jam()
    ada = join(jam=jam)
    idea = post(jam, ada)
    with pytest.raises(InvalidText):
        idea.edit(title=title, body=body, by=ada, jam=jam, at=DURING)


def test_an_edit_that_changes_nothing_is_refused() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    idea = post(jam, ada)
    with pytest.raises(ConflictingState):
        idea.edit(
            title=" Four-day  week ", body="Try it for a quarter.", by=ada, jam=jam, at=DURING
        )


# Flagging


def test_a_participant_flags_an_idea_once() -> None:
    jam = create_jam()
    idea, bob = post(jam, join(jam=jam)), join(jam=jam)
    idea.flag(reason="Off topic", by=bob, at=DURING)
    assert idea.flagged_by == {bob.id}
    with pytest.raises(ConflictingState):
        idea.flag(reason="Still off topic", by=bob, at=DURING + MINUTE)


def test_an_author_cannot_flag_their_own_idea() -> None:
    jam = create_jam()
    ada = join(jam=jam)
    idea = post(jam, ada)
    with pytest.raises(ConflictingState, match="your own idea"):
        idea.flag(reason="Second thoughts", by=ada, at=DURING)
    assert idea.flagged_by == set()


def test_once_organizers_have_reviewed_an_idea_its_flaggers_may_flag_it_again() -> None:
    # It may have been edited since: those who noticed the first time must be heard again.
    jam = create_jam()
    organizer, idea, bea = join("organizer", jam), post(jam, join(jam=jam)), join(jam=jam)
    idea.flag(reason="rude", by=bea, at=DURING)
    with pytest.raises(ConflictingState, match="already"):
        idea.flag(reason="rude", by=bea, at=DURING)
    idea.dismiss_flags(reason="fair criticism", by=organizer, at=DURING)
    idea.flag(reason="rude again", by=bea, at=DURING + MINUTE)
    idea.hide(reason="rude", by=organizer, at=DURING + MINUTE)
    idea.restore(reason="edited since", by=organizer, at=DURING + 2 * MINUTE)
    idea.flag(reason="and again", by=bea, at=DURING + 3 * MINUTE)
    assert idea.open_flags == 1


def test_a_hidden_idea_cannot_be_flagged() -> None:
    # Hidden is already the organizers' answer: a flag would bring it back to their queue.
    jam = create_jam()
    organizer, idea = join("organizer", jam), post(jam, join(jam=jam))
    idea.hide(reason="Off topic", by=organizer, at=DURING)
    with pytest.raises(IdeaHidden):
        idea.flag(reason="spam", by=join(jam=jam), at=DURING)
    assert (idea.flagged_by, idea.open_flags) == (set(), 0)


def test_a_blocked_participant_cannot_flag_an_idea() -> None:
    jam = create_jam()
    idea, bob = post(jam, join(jam=jam)), join(jam=jam)
    block(bob)
    with pytest.raises(ParticipantBlocked):
        idea.flag(reason="Off topic", by=bob, at=DURING)


# Moderating


def hide(jam: Jam, idea: Idea, by: Participant) -> None:
    idea.hide(reason="Off topic", by=by, at=DURING)


def restore(jam: Jam, idea: Idea, by: Participant) -> None:
    idea.hide(reason="Off topic", by=join("organizer"), at=DURING)
    idea.restore(reason="On reflection, fine", by=by, at=DURING + MINUTE)


def mark_duplicate(jam: Jam, idea: Idea, by: Participant) -> None:
    original = post(jam, join(jam=jam))
    idea.mark_duplicate(original=original, by=by, at=DURING)


def unmark_duplicate(jam: Jam, idea: Idea, by: Participant) -> None:
    original = post(jam, join(jam=jam))
    idea.mark_duplicate(original=original, by=join("organizer"), at=DURING)
    idea.unmark_duplicate(by=by, at=DURING + MINUTE)


MODERATION = [hide, restore, mark_duplicate, unmark_duplicate]


@pytest.mark.parametrize("moderate", MODERATION)
@pytest.mark.parametrize("role", ["participant", "leader"])
def test_only_organizers_moderate_ideas(moderate, role: str) -> None:
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    with pytest.raises(NotOrganizer):
        moderate(jam, idea, join(role, jam))


@pytest.mark.parametrize("moderate", MODERATION)
def test_an_organizer_of_another_jam_cannot_moderate_ideas(moderate) -> None:
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    with pytest.raises(NotOrganizer):
        moderate(jam, idea, join("organizer", create_jam()))


@pytest.mark.parametrize("moderate", MODERATION)
@pytest.mark.parametrize("organizer_of", ["this jam", "no jam"])
def test_an_organizer_of_this_jam_or_of_no_jam_moderates_ideas(moderate, organizer_of: str) -> None:
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    moderate(jam, idea, join("organizer", jam if organizer_of == "this jam" else None))


def test_an_organizer_hides_and_restores_an_idea() -> None:
    jam = create_jam()
    organizer, idea = join("organizer", jam), post(jam, join(jam=jam))
    idea.hide(reason="Off topic", by=organizer, at=DURING)
    assert idea.hidden
    idea.restore(reason="Fine after all", by=organizer, at=DURING + MINUTE)
    assert not idea.hidden


def test_hiding_a_hidden_idea_or_restoring_a_visible_one_conflicts() -> None:
    jam = create_jam()
    organizer, idea = join("organizer", jam), post(jam, join(jam=jam))
    with pytest.raises(ConflictingState):
        idea.restore(reason="Fine", by=organizer, at=DURING)
    idea.hide(reason="Off topic", by=organizer, at=DURING)
    with pytest.raises(ConflictingState):
        idea.hide(reason="Off topic", by=organizer, at=DURING)


def test_an_organizer_dismisses_the_flags_of_an_idea_they_keep() -> None:
    jam = create_jam()
    organizer, idea = join("organizer", jam), post(jam, join(jam=jam))
    with pytest.raises(ConflictingState, match="no flags"):
        idea.dismiss_flags(reason="", by=organizer, at=DURING)
    idea.flag(reason="rude", by=join(jam=jam), at=DURING)
    with pytest.raises(NotOrganizer):
        idea.dismiss_flags(reason="", by=join(jam=jam), at=DURING)
    idea.dismiss_flags(reason="fair criticism, not rude", by=organizer, at=DURING)
    assert (idea.open_flags, idea.hidden) == (0, False)
    with pytest.raises(ConflictingState, match="no flags"):  # nothing new since
        idea.dismiss_flags(reason="", by=organizer, at=DURING)
    idea.flag(reason="rude", by=join(jam=jam), at=DURING)
    idea.hide(reason="rude after all", by=organizer, at=DURING)
    with pytest.raises(ConflictingState, match="restore it instead"):
        idea.dismiss_flags(reason="", by=organizer, at=DURING)


# Duplicates


def test_an_organizer_marks_an_idea_as_a_duplicate_and_unmarking_restores_it() -> None:
    jam = create_jam()
    organizer, ada = join("organizer", jam), join(jam=jam)
    original, copy = post(jam, ada), post(jam, ada)
    copy.mark_duplicate(original=original, by=organizer, at=DURING)
    assert copy.duplicate_of == original.id
    copy.unmark_duplicate(by=organizer, at=DURING + MINUTE)
    assert copy.duplicate_of is None


def test_an_idea_cannot_duplicate_itself() -> None:
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    with pytest.raises(ConflictingState, match="itself"):
        idea.mark_duplicate(original=idea, by=join("organizer", jam), at=DURING)


def test_an_idea_cannot_duplicate_one_from_another_jam() -> None:
    jam, other = create_jam(), create_jam()
    idea, elsewhere = post(jam, join(jam=jam)), post(other, join(jam=other))
    with pytest.raises(ConflictingState, match="another jam"):
        idea.mark_duplicate(original=elsewhere, by=join("organizer"), at=DURING)


def test_an_idea_cannot_duplicate_an_idea_that_is_itself_a_duplicate() -> None:
    jam = create_jam()
    organizer, ada = join("organizer", jam), join(jam=jam)
    root, middle, last = post(jam, ada), post(jam, ada), post(jam, ada)
    middle.mark_duplicate(original=root, by=organizer, at=DURING)
    with pytest.raises(ConflictingState, match="itself marked"):
        last.mark_duplicate(original=middle, by=organizer, at=DURING)


def test_an_idea_the_leaders_decided_on_is_not_marked_a_duplicate() -> None:
    # It would leave the shortlist, and its decision ("funded") with it, shown nowhere.
    jam = create_jam()
    organizer, ada = join("organizer", jam), join(jam=jam)
    funded, other = post(jam, ada), post(jam, ada)
    funded.decide(decision="funded", note="", by=join("leader", jam), at=DURING)
    with pytest.raises(ConflictingState, match=r"decided on this idea \(funded\): mark the other"):
        funded.mark_duplicate(original=other, by=organizer, at=DURING)
    other.mark_duplicate(original=funded, by=organizer, at=DURING)  # the other way round
    assert other.duplicate_of == funded.id


def test_marking_the_same_duplicate_twice_or_unmarking_an_unlinked_idea_records_nothing() -> None:
    # Setting a link where it is, or removing one that is not there: idempotent, as PUT and
    # DELETE are, so a retry is not refused.
    jam = create_jam()
    organizer, ada = join("organizer", jam), join(jam=jam)
    original, copy = post(jam, ada), post(jam, ada)
    version = copy.version
    copy.unmark_duplicate(by=organizer, at=DURING)
    assert copy.version == version
    copy.mark_duplicate(original=original, by=organizer, at=DURING)
    versions = copy.version, original.version
    copy.mark_duplicate(original=original, by=organizer, at=DURING)
    assert (copy.version, original.version) == versions
    assert (copy.duplicate_of, original.duplicates) == (original.id, {copy.id})


# Decisions


@pytest.mark.parametrize("decision", ["shortlisted", "funded", "parked", "declined"])
def test_a_leader_records_a_decision(decision: str) -> None:
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    idea.decide(decision=decision, note="", by=join("leader", jam), at=ENDS)
    assert idea.decision == decision


def test_the_same_leader_saying_the_same_again_records_nothing_new() -> None:
    # A resent form or a double click must not fill the decision history with copies.
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    ada, bea = join("leader", jam), join("leader", jam)
    idea.decide(decision="funded", note="Q3 budget", by=ada, at=ENDS)
    recorded = len(idea.collect_events())
    idea.decide(decision="funded", note=" Q3 budget ", by=ada, at=ENDS)
    assert idea.collect_events() == []
    idea.decide(decision="funded", note="Q3 budget", by=bea, at=ENDS)  # another leader agrees
    idea.decide(decision="funded", note="Q4 budget", by=ada, at=ENDS)  # a new note
    idea.decide(decision="funded", note="Q3 budget", by=ada, at=ENDS)  # back again
    assert recorded >= 1
    assert len(idea.collect_events()) == 3


@pytest.mark.parametrize("decision", ["approved", "FUNDED", ""])
def test_a_decision_is_shortlisted_funded_parked_or_declined(decision: str) -> None:
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    with pytest.raises(InvalidValue):
        idea.decide(decision=decision, note="", by=join("leader", jam), at=ENDS)


@pytest.mark.parametrize("role", ["participant", "organizer"])
def test_only_leaders_decide_not_even_organizers(role: str) -> None:
    jam = create_jam()
    idea = post(jam, join(jam=jam))
    with pytest.raises(NotLeader):
        idea.decide(decision="funded", note="", by=join(role, jam), at=ENDS)
    with pytest.raises(NotLeader):
        idea.decide(decision="funded", note="", by=join("organizer"), at=ENDS)


def test_a_decision_left_unchosen_is_asked_for_by_name() -> None:
    jam = create_jam()
    idea, leader = post(jam, join(jam=jam)), join("leader", jam)
    with pytest.raises(InvalidValue, match=r"^choose a decision: one of shortlisted, funded"):
        idea.decide(decision="", note="", by=leader, at=ENDS)
    with pytest.raises(InvalidValue, match=r"decision must be one of: .* \(got “maybe”\)"):
        idea.decide(decision="maybe", note="", by=leader, at=ENDS)


def test_a_leader_of_another_jam_or_a_blocked_leader_cannot_decide() -> None:
    jam = create_jam()
    idea, leader = post(jam, join(jam=jam)), join("leader", jam)
    with pytest.raises(NotLeader):
        idea.decide(decision="funded", note="", by=join("leader", create_jam()), at=ENDS)
    block(leader)
    with pytest.raises(NotLeader):
        idea.decide(decision="funded", note="", by=leader, at=ENDS)


def test_a_hidden_idea_is_decided_on_only_once_restored() -> None:
    jam = create_jam()
    organizer, leader, idea = join("organizer", jam), join("leader", jam), post(jam, join(jam=jam))
    idea.hide(reason="Off topic", by=organizer, at=DURING)
    with pytest.raises(IdeaHidden, match="once restored"):
        idea.decide(decision="funded", note="", by=leader, at=ENDS)
    assert idea.decision is None
    idea.restore(reason="On topic after all", by=organizer, at=ENDS)
    idea.decide(decision="funded", note="", by=leader, at=ENDS)
    assert idea.decision == "funded"


# Events


def an_idea_with_a_history() -> Idea:
    jam = create_jam()
    ada, bob, organizer = join(jam=jam), join(jam=jam), join("organizer", jam)
    original = post(jam, bob, title="Shorter weeks")
    idea = post(jam, ada, at=DURING)
    idea.edit(title="Four-day week", body="Paid.", by=ada, jam=jam, at=DURING + 1 * MINUTE)
    idea.flag(reason="Repeat", by=bob, at=DURING + 2 * MINUTE)
    idea.mark_duplicate(original=original, by=organizer, at=DURING + 3 * MINUTE)
    idea.unmark_duplicate(by=organizer, at=DURING + 4 * MINUTE)
    idea.hide(reason="Heated", by=organizer, at=DURING + 5 * MINUTE)
    idea.restore(reason="Calmer", by=organizer, at=DURING + 6 * MINUTE)
    idea.decide(decision="funded", note="Pilot", by=join("leader", jam), at=DURING + 7 * MINUTE)
    return idea


def test_idea_events_are_past_tense_and_stamped_with_the_given_time() -> None:
    events = an_idea_with_a_history().collect_events()
    assert [type(e).__name__ for e in events] == [
        "Posted",
        "Edited",
        "Flagged",
        "MarkedDuplicate",
        "UnmarkedDuplicate",
        "Hidden",
        "Restored",
        "DecisionRecorded",
    ]
    assert [e.timestamp for e in events] == [DURING + n * MINUTE for n in range(8)]


def test_replaying_an_ideas_events_rebuilds_the_same_idea() -> None:
    idea = an_idea_with_a_history()
    rebuilt = replay(idea.collect_events())
    assert vars(rebuilt) == vars(idea)
    assert (rebuilt.title, rebuilt.decision, rebuilt.hidden) == ("Four-day week", "funded", False)
    assert rebuilt.flagged_by == set()  # reviewed by the restore: anyone may flag it again
