"""The read models a busy jam produces, for participants and for organizers."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from uuid import UUID

import pytest

from domain.values import vote_id
from jam import commands as c
from projections import queries
from projections.schema import INDEXES, TABLES
from tests.projections.busy import play
from tests.projections.conftest import runner_for
from tests.stories import open_jam


@pytest.fixture
def busy_views(app, clock, make_views):
    scene = open_jam(app, clock)
    busy = play(scene)
    views = make_views()
    runner = runner_for(app, views, page_size=7)  # small pages: many transactions
    assert runner.catch_up() == app.position()
    return busy, views


def test_idea_lists_sort_by_new_top_hot_and_discussed(busy_views):
    busy, views = busy_views
    jam = str(busy.scene.jam_id)
    ids = {v: k for k, v in busy.ideas.items()}
    with views.reading() as cur:
        newest = [ids[UUID(i.id)] for i in queries.ideas(cur, jam, sort="new")]
        top = [i.title for i in queries.ideas(cur, jam, sort="top")]
        discussed = [i.title for i in queries.ideas(cur, jam, sort="discussed")]
        hot = queries.ideas(cur, jam, sort="hot")
        health = queries.ideas(cur, jam, forum="health")
    assert newest == ["week2", "clinic", "week"]  # the hidden idea is not listed
    assert top[0] == "Four-day week"  # 4 up, 0 down
    assert discussed[0] == "Four-day week"
    assert hot[0].title == "Four-day week"
    assert [i.title for i in health] == ["Walk-in clinic at the office"]


def test_tallies_count_changed_and_withdrawn_votes_once(busy_views):
    busy, views = busy_views
    with views.reading() as cur:
        clinic = queries.thread(cur, str(busy.ideas["clinic"]))
    assert (clinic.idea.up, clinic.idea.down) == (1, 2)
    assert {s.segment: (s.up, s.down) for s in clinic.segments} == {
        "employee": (1, 0),
        "client": (0, 1),
        "family": (0, 1),
        "partner": (0, 0),
    }


def test_hidden_ideas_are_shown_with_their_state_to_organizers_only(busy_views):
    busy, views = busy_views
    jam, spam = str(busy.scene.jam_id), str(busy.ideas["spam"])
    with views.reading() as cur:
        assert spam not in {i.id for i in queries.ideas(cur, jam)}
        assert queries.thread(cur, spam) is None
        listed = {i.id: i for i in queries.ideas(cur, jam, include_hidden=True)}
        seen = queries.thread(cur, spam, include_hidden=True)
    assert listed[spam].hidden
    assert seen.hidden_reason == "advertising"


def test_a_thread_nests_comments_and_hides_hidden_text_from_participants(busy_views):
    busy, views = busy_views
    with views.reading() as cur:
        week = queries.thread(cur, str(busy.ideas["week"]))
        clinic = queries.thread(cur, str(busy.ideas["clinic"]))
        clinic_for_organizer = queries.thread(cur, str(busy.ideas["clinic"]), include_hidden=True)
    assert week.body == "Pilot it."
    assert week.edited_at is not None
    assert week.idea.decision == "shortlisted"
    assert week.decision_note == "Promising"
    [first] = week.comments
    assert first.body == "Yes please"
    assert first.author_name == "Beatrice"
    assert first.replies[0].replies[0].body == "Rotas"
    assert week.idea.comments == 3
    assert clinic.comments[0].hidden
    assert clinic.comments[0].body == ""
    assert clinic.idea.comments == 0
    assert clinic_for_organizer.comments[0].body == "Rude words"


def test_jam_centrals_recent_rates_and_active_people_speak_of_one_span(app, clock, make_views):
    # Twelve votes in one minute, read 5 min 12 s later: the rates counted that minute
    # (divided by five, over six minutes' counts) while nobody was active any more.
    scene = open_jam(app, clock)
    clock.advance(timedelta(seconds=60 - clock.now.second))  # a minute's first second
    voted = clock.now
    ada = scene.join()
    ideas = [scene.post_idea(ada, title=f"Idea {n}") for n in range(12)]
    for idea in ideas:
        app.handle(c.CastVote(actor=ada, idea_id=idea, value=1))
    views = make_views()
    assert runner_for(app, views).catch_up() == app.position()
    jam = str(scene.jam_id)
    with views.reading() as cur:
        within = queries.jam_central(cur, jam, voted + timedelta(minutes=4, seconds=30))
        after = queries.jam_central(cur, jam, voted + timedelta(minutes=5, seconds=12))
        quiet = queries.jam_central(cur, jam, voted + timedelta(minutes=30))
    assert within.active_last_5_minutes == 1
    assert within.votes_per_minute == pytest.approx(12 / 4.5)  # over 4.5 minutes, not 5
    assert (after.active_last_5_minutes, after.votes_per_minute, after.ideas_per_minute) == (
        0, 0, 0,
    )  # fmt: skip
    # The figures age with time alone: an open page reads them again at the next minute.
    next_minute = (voted.replace(second=0, microsecond=0) + timedelta(minutes=5)).isoformat()
    assert within.figures_change_at == next_minute
    assert quiet.figures_change_at is None


def test_duplicates_are_marked_in_lists(busy_views):
    busy, views = busy_views
    with views.reading() as cur:
        listed = {i.id: i for i in queries.ideas(cur, str(busy.scene.jam_id))}
    assert listed[str(busy.ideas["week2"])].duplicate_of == str(busy.ideas["week"])


def test_jam_central_counts_people_activity_segments_forums_and_minutes(busy_views):
    busy, views = busy_views
    now = busy.scene.clock.now
    with views.reading() as cur:
        central = queries.jam_central(cur, str(busy.scene.jam_id), now)
        later = queries.jam_central(cur, str(busy.scene.jam_id), now + timedelta(hours=1))
    # Participants alone: the jam's leader is counted apart, with its organizers.
    assert (central.participants, central.staff) == (4, 1)
    assert central.active_last_5_minutes >= 3
    assert later.active_last_5_minutes == 0
    segments = {s.segment: s for s in central.segments}
    assert segments["employee"].participants == 1  # Ada: the leader is not a participant
    assert sum(s.ideas for s in central.segments) == 4
    assert sum(s.comments for s in central.segments) == 4
    assert sum(s.votes for s in central.segments) == 9  # casts; changes are not new votes
    forums = {f.forum: f for f in central.forums}
    assert (forums["health"].ideas, forums["future-of-work"].ideas) == (2, 2)
    assert sum(m.ideas for m in central.minutes) == 4
    assert [m.minute for m in central.minutes] == sorted(m.minute for m in central.minutes)
    assert central.position > 0


def test_the_moderation_queue_lists_flags_and_what_was_done(busy_views):
    busy, views = busy_views
    with views.reading() as cur:
        queue = queries.moderation_queue(cur, str(busy.scene.jam_id))
    first, second = queue.flagged
    assert (first.idea_id, first.flags) == (str(busy.ideas["clinic"]), 1)  # open items first
    assert (second.flags, sorted(second.reasons), second.hidden) == (
        2,
        ["advertising", "spam"],
        True,
    )
    assert [(a.action, a.target_kind) for a in queue.actions] == [
        ("duplicate", "idea"),
        ("hide", "comment"),
        ("hide", "idea"),
    ]


def test_an_idea_restored_after_review_leaves_the_queue_until_flagged_again(app, clock, make_views):
    scene = open_jam(app, clock)
    ada, bea, cy = scene.join(), scene.join(), scene.join()
    idea = scene.post_idea(ada, title="Borderline")
    for who in (bea, cy):
        app.handle(c.FlagIdea(actor=who, idea_id=idea, reason="rude"))
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=idea, reason="checking"))
    views = make_views()
    runner = runner_for(app, views)

    def queued() -> dict[str, int]:
        runner.catch_up()
        with views.reading() as cur:
            queue = queries.moderation_queue(cur, str(scene.jam_id))
        return {f.idea_id: f.flags for f in queue.flagged}

    assert queued() == {str(idea): 2}  # hidden: listed with its flags
    app.handle(c.RestoreIdea(actor=scene.organizer, idea_id=idea, reason="fine after all"))
    assert queued() == {}  # reviewed and restored: nothing left to do
    app.handle(c.FlagIdea(actor=scene.join(), idea_id=idea, reason="still rude"))
    assert queued() == {str(idea): 1}  # flagged again: back, with the new flag only
    app.handle(c.DismissFlags(actor=scene.organizer, idea_id=idea, reason="not rude"))
    assert queued() == {}  # kept as it is: dismissed


def test_participant_activity_lists_their_ideas_comments_and_votes(busy_views):
    busy, views = busy_views
    with views.reading() as cur:
        ada = queries.activity(cur, str(busy.people["ada"]))
        di = queries.activity(cur, str(busy.people["di"]))
    assert [i.title for i in ada.ideas] == ["Four-day week"]
    assert ada.comment_ids == [str(busy.comments["c3"])]
    assert ada.votes == {
        str(busy.ideas["week"]): 1,
        str(busy.ideas["clinic"]): 1,
        str(busy.ideas["spam"]): 1,
    }
    assert str(busy.ideas["clinic"]) not in di.votes  # withdrawn


def test_the_live_feed_is_in_log_order_per_jam_and_per_thread(busy_views):
    busy, views = busy_views
    with views.reading() as cur:
        feed = queries.updates_after(cur, 0, jam_id=str(busy.scene.jam_id))
        week = queries.updates_after(cur, 0, idea_id=str(busy.ideas["week"]))
        tail = queries.updates_after(cur, feed[-3].position, jam_id=str(busy.scene.jam_id))
    positions = [u.position for u in feed]
    assert positions == sorted(positions)
    assert {u.kind for u in week} >= {"idea", "comment", "vote", "decision", "edited"}
    # "idea" is a new idea only (pages announce it as one), not an edit or a duplicate mark.
    assert [u.kind for u in week].count("idea") == 1
    with views.reading() as cur:
        copy = queries.updates_after(cur, 0, idea_id=str(busy.ideas["week2"]))
    assert [u.kind for u in copy].count("idea") == 1
    assert "duplicate" in {u.kind for u in copy}
    assert all(u.idea_id == str(busy.ideas["week"]) for u in week)
    assert [u.position for u in tail] == positions[-2:]


def test_the_live_feed_read_a_page_at_a_time_skips_no_update_sharing_a_position(
    app, clock, make_views
):
    # A stream catching up resumes after its page's last position: a page ending among
    # the updates of one position (an original hidden: it and each duplicate) skipped
    # the rest.
    scene = open_jam(app, clock)
    busy = play(scene)
    original = busy.ideas["week"]
    app.handle(c.HideIdea(actor=scene.organizer, idea_id=original, reason="checking"))
    app.handle(c.RestoreIdea(actor=scene.organizer, idea_id=original, reason="fine"))
    views = make_views()
    runner_for(app, views).catch_up()
    jam = str(scene.jam_id)
    with views.reading() as cur:
        feed = queries.updates_after(cur, 0, jam_id=jam)
        positions = [u.position for u in feed]
        assert len(set(positions)) < len(positions)  # some position has several updates
        for limit in range(1, 6):
            walked, after = [], 0
            while page := queries.updates_after(cur, after, jam_id=jam, limit=limit):
                walked += page
                after = page[-1].position
            assert walked == feed, f"pages of {limit}"


def test_a_participants_own_page_reads_by_index_not_by_scanning_every_comment():
    # My activity filters ideas and comments by their author: without an index on it,
    # each view scanned every comment of every jam.
    db = sqlite3.connect(":memory:")
    for name, columns in TABLES.items():
        db.execute(f"CREATE TABLE {name} ({columns})")
    for statement in INDEXES:
        db.execute(statement)
    db.execute(
        "INSERT INTO rm_participants (participant_id, jam_id, display_name, segment, role, "
        "joined_at) VALUES ('p1', 'j1', 'Ada', 'employee', 'participant', '2030-05-01')"
    )
    asked: list[str] = []
    db.set_trace_callback(asked.append)
    cur = db.cursor()
    queries.activity(cur, "p1")
    queries.commented_on(cur, "p1")
    queries.voted_on(cur, "p1")
    queries.flag_state(cur, "i1", "p1")  # on every thread a participant reads
    db.set_trace_callback(None)
    # (Queries may come wrapped, to be read in one step: every statement is checked.)
    plans = [
        " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql))
        for sql in asked
        if "SELECT" in sql.upper()
    ]
    used = " ".join(plans)
    assert "INDEX rm_comments_author (author_id=?)" in used
    assert "INDEX rm_ideas_author (author_id=?)" in used
    assert "INDEX rm_votes_participant (participant_id=?)" in used
    assert "INDEX rm_moderation_target (target_id=?)" in used


def test_a_participants_threads_votes_and_an_originals_duplicates_on_both_stores(busy_views):
    busy, views = busy_views
    ada, cy = str(busy.people["ada"]), str(busy.people["cy"])
    week, week2 = str(busy.ideas["week"]), str(busy.ideas["week2"])
    clinic, spam = str(busy.ideas["clinic"]), str(busy.ideas["spam"])
    with views.reading() as cur:
        assert [(t.id, t.count) for t in queries.commented_on(cur, ada)] == [(week, 1)]
        voted = {t.id: (t.count, t.hidden) for t in queries.voted_on(cur, ada)}
        assert voted == {week: (1, False), clinic: (1, False), spam: (1, True)}
        # A hidden idea's title is its author's to read, not a voter's.
        titles = {t.id: t.title for t in queries.voted_on(cur, ada)}
        assert (titles[spam], titles[week]) == ("", "Four-day week")
        assert queries.vote_value(cur, str(vote_id(busy.ideas["clinic"], busy.people["cy"]))) == -1
        assert queries.vote_value(cur, str(vote_id(busy.ideas["week"], UUID(int=0)))) is None
        assert not queries.is_blocked(cur, cy)
        original = queries.thread(cur, week)
        assert original is not None
        assert [d.id for d in original.duplicates] == [week2]
        copy = queries.thread(cur, week2)
        assert copy is not None
        assert not copy.original_hidden
