"""Importing a Pol.is export: a small conversation, hand-made in the export format.

tiny-housing: four comments (one moderated out, one empty) by participants 0-2 and
twelve vote rows by participants 0-4, among them a changed vote (2 on comment 0:
disagree, then agree), a pass turned into a vote (2 on comment 1), a vote turned
into a pass (3 on comment 1) and a vote on the empty comment.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from domain import Idea, Jam, Participant, Vote
from domain.errors import InvalidValue
from domain.values import vote_id
from jam import cli
from jam.application import JamApplication
from jam.directory import jam_ids
from jam.polis import (
    MODERATED_OUT,
    AlreadyImported,
    PolisFormatError,
    PolisIds,
    import_conversation,
    read_conversation,
)
from jam.settings import Settings
from tests.projections.conftest import make_views, runner_for  # noqa: F401 (a fixture)

TINY = Path(__file__).parent / "polis" / "tiny-housing"
URL = "https://pol.is/tinyhousing"
LONG_ID = "1" * 50  # "Participant 111…" would be longer than a display name may be


def ms(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


FIRST = ms(1500000000000)  # comment 0, the conversation's first activity
LAST = ms(1500000700000)  # participant 4's only vote, its last


def events(app: JamApplication) -> list:
    return [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 10_000)]


def imported(app: JamApplication):
    done = import_conversation(app, read_conversation(TINY), workers=4)
    return done, read_conversation(TINY)


# Reading the export


def test_the_export_is_read_in_time_order_with_titles_made_from_the_text():
    talk = read_conversation(TINY)
    assert (talk.key, talk.topic, talk.slug) == (URL, "Affordable homes for all?", "tiny-housing")
    assert [c.comment_id for c in talk.comments] == [0, 1, 2]
    assert [c.moderated_out for c in talk.comments] == [False, False, True]
    long = talk.comments[1]
    assert long.body.endswith("the rents\nover thirty years.")
    assert len(long.title) <= 120
    assert long.title.endswith("…")
    assert "\n" not in long.title
    assert talk.comments[0].title == talk.comments[0].body
    assert (talk.skipped_comments, talk.skipped_votes) == (1, 1)
    assert [v.at for v in talk.votes] == sorted(v.at for v in talk.votes)
    assert Counter(v.value for v in talk.votes) == {1: 5, -1: 3, 0: 3}


def test_without_a_summary_the_folder_names_the_jam_and_the_content_keys_it(tmp_path):
    folder = tmp_path / "no-summary"
    shutil.copytree(TINY, folder)
    (folder / "summary.csv").unlink()
    talk = read_conversation(folder)
    assert (talk.topic, talk.slug) == ("no-summary", "no-summary")
    assert talk.key.startswith("sha256:")
    assert read_conversation(folder).key == talk.key


# The import, on both stores


def test_the_import_reports_what_it_made(app):
    done, _ = imported(app)
    assert (done.ideas, done.hidden, done.participants) == (3, 1, 5)
    assert (done.votes, done.passes, done.vote_rows) == (6, 2, 11)
    assert (done.skipped_comments, done.skipped_votes) == (1, 1)
    assert (done.starts_at, done.ends_at) == (FIRST, LAST + timedelta(seconds=1))


def test_every_event_keeps_the_time_of_its_row(app):
    done, talk = imported(app)
    log = events(app)
    posted = {e.originator_id: e.timestamp for e in log if type(e) is Idea.Posted}
    assert sorted(posted.values()) == [c.at for c in talk.comments]
    vote_times = sorted(e.timestamp for e in log if type(e).__qualname__.startswith("Vote."))
    assert vote_times == [v.at for v in talk.votes]  # every row changed something here
    jam = app.load(Jam, done.jam_id)
    assert (jam.starts_at, jam.ends_at, jam.imported_from) == (FIRST, done.ends_at, URL)
    assert jam.title == "Affordable homes for all?"
    assert URL in jam.description


def test_votes_are_replayed_in_order_so_the_latest_row_stands(app):
    done, _ = imported(app)
    ids = PolisIds(done.jam_id)
    changed = app.load(Vote, vote_id(ids.idea(0), ids.participant(2)))
    assert (changed.value, changed.passed, changed.version) == (1, False, 2)
    to_pass = app.load(Vote, vote_id(ids.idea(1), ids.participant(3)))
    assert (to_pass.value, to_pass.passed) == (0, True)
    from_pass = app.load(Vote, vote_id(ids.idea(1), ids.participant(2)))
    assert (from_pass.value, from_pass.passed) == (-1, False)
    per_vote: dict = {}
    for e in events(app):
        if type(e).__qualname__.startswith("Vote."):
            per_vote.setdefault(e.originator_id, []).append(e.timestamp)
    assert all(times == sorted(times) for times in per_vote.values())
    names = Counter(type(e).__qualname__ for e in events(app))
    # 8 (comment, voter) pairs: 6 first cast, 2 first passed; 3 changed, one to a pass
    assert (names["Vote.Cast"], names["Vote.Passed"], names["Vote.Changed"]) == (6, 2, 3)


def test_participants_join_at_their_first_activity_in_the_chosen_segment(app):
    done = import_conversation(app, read_conversation(TINY), segment="partner", workers=4)
    ids = PolisIds(done.jam_id)
    people = [app.load(Participant, ids.participant(p)) for p in range(5)]
    assert [p.display_name for p in people] == [f"Participant {p}" for p in range(5)]
    assert {p.segment.value for p in people} == {"partner"}
    assert {p.jam_id for p in people} == {done.jam_id}
    assert people[4].created_on == LAST  # participant 4 only voted, at the very end
    assert people[0].created_on == FIRST  # participant 0 wrote the first comment


def test_moderated_out_comments_are_hidden_at_the_end_with_the_votes_they_drew(app):
    done, _ = imported(app)
    ids = PolisIds(done.jam_id)
    spam = app.load(Idea, ids.idea(2))
    assert spam.hidden
    [hidden] = [e for e in events(app) if type(e) is Idea.Hidden]
    assert (hidden.reason, hidden.timestamp) == (MODERATED_OUT, LAST)
    assert app.load(Vote, vote_id(spam.id, ids.participant(1))).value == -1
    assert not app.load(Idea, ids.idea(0)).hidden


def test_an_unknown_segment_is_refused_before_anything_is_written(app):
    with pytest.raises(InvalidValue, match="segment must be one of"):
        import_conversation(app, read_conversation(TINY), segment="press")
    assert app.position() == 0


def test_the_same_conversation_is_not_imported_twice(app):
    imported(app)
    before = app.position()
    with pytest.raises(AlreadyImported, match="already imported as jam"):
        import_conversation(app, read_conversation(TINY), workers=4)
    assert app.position() == before


def test_read_models_keep_passes_as_seen_rows_that_never_count_as_support(app, make_views):  # noqa: F811
    done, _ = imported(app)
    ids = PolisIds(done.jam_id)
    views = make_views()
    runner = runner_for(app, views)
    assert runner.catch_up() == app.position()
    with views.reading() as cur:
        rows = cur.execute(
            "SELECT idea_id, value, COUNT(*) FROM rm_votes WHERE jam_id = ? "
            "GROUP BY idea_id, value",
            (str(done.jam_id),),
        ).fetchall()
        ideas = cur.execute(
            "SELECT idea_id, up, down, hidden FROM rm_ideas WHERE jam_id = ?",
            (str(done.jam_id),),
        ).fetchall()
        segments = cur.execute("SELECT idea_id, segment, up, down FROM rm_idea_segments").fetchall()
        people = cur.execute(
            "SELECT COUNT(*) FROM rm_participants WHERE jam_id = ?", (str(done.jam_id),)
        ).fetchone()
    first, second, spam = (str(ids.idea(n)) for n in range(3))
    assert {(r[0], r[1]): r[2] for r in rows} == {
        (first, 1): 3,
        (first, 0): 1,
        (second, 1): 1,
        (second, -1): 1,
        (second, 0): 1,
        (spam, -1): 1,
    }
    assert {r[0]: tuple(r[1:]) for r in ideas} == {
        first: (3, 0, 0),
        second: (1, 1, 0),
        spam: (0, 1, 1),
    }
    assert {(r[0], r[1]): (r[2], r[3]) for r in segments} == {
        (first, "client"): (3, 0),
        (second, "client"): (1, 1),
        (spam, "client"): (0, 1),
    }
    assert people[0] == 5


# Bad input: a clear message, exit code 2, nothing written


# case: (file, text to replace, its replacement (None: delete the file), expected message)
BAD = {
    "missing file": ("votes.csv", "", None, "votes.csv is missing"),
    "missing column": ("votes.csv", "voter-id", "who", "missing column(s) voter-id"),
    "bad vote value": (
        "votes.csv",
        ",0,4,1",
        ",0,4,2",
        "votes.csv line 13: vote must be one of 1, -1, 0, got 2",
    ),
    "bad timestamp": (
        "comments.csv",
        "1500000120000",
        "soon",
        "comments.csv line 3: timestamp must be a whole number in the digits 0-9, got 'soon'",
    ),
    # Only the digits 0-9, though Python's int() reads all of these.
    "timestamp in Arabic-Indic digits": (
        "comments.csv",
        "1500000120000",
        "١٥٠٠٠٠٠١٢٠٠٠٠",
        "comments.csv line 3: timestamp must be a whole number in the digits 0-9, "
        "got '١٥٠٠٠٠٠١٢٠٠٠٠'",
    ),
    "timestamp in full-width digits": (
        "votes.csv",
        "1500000700000,",
        "１５００００００７０００００,",
        "votes.csv line 13: timestamp must be a whole number in the digits 0-9",
    ),
    "timestamp with underscores": (
        "comments.csv",
        "1500000120000",
        "1_500_000_120_000",
        "comments.csv line 3: timestamp must be a whole number in the digits 0-9, "
        "got '1_500_000_120_000'",
    ),
    "timestamp with a plus": (
        "comments.csv",
        "1500000120000",
        "+1500000120000",
        "comments.csv line 3: timestamp must be a whole number in the digits 0-9, "
        "got '+1500000120000'",
    ),
    "vote with a plus": (
        "votes.csv",
        ",0,4,1",
        ",0,4,+1",
        "votes.csv line 13: vote must be a whole number in the digits 0-9, got '+1'",
    ),
    "comment id in Arabic-Indic digits": (
        "votes.csv",
        "1500000700000,Fri Jul 14 02:51:40 UTC 2017,0,4,1",
        "1500000700000,Fri Jul 14 02:51:40 UTC 2017,٠,4,1",
        "votes.csv line 13: comment-id must be a whole number in the digits 0-9, got '٠'",
    ),
    # A minus only where the format has negative values (votes, moderation).
    "author id with a minus": (
        "comments.csv",
        ",2,2,0,1,-1,Buy",
        ",2,-0,0,1,-1,Buy",
        "comments.csv line 3: author-id must not be negative",
    ),
    "timestamp with more digits than a number is read with": (
        "comments.csv",
        "1500000120000",
        "9" * 5000,
        "comments.csv line 3: timestamp is out of range (5000 digits)",
    ),
    # A quote left open would take every row after it into its text.
    "quote left open in the last comment": (
        "comments.csv",
        "1,Build more",
        '1,"Build more',
        "comments.csv line 6: a quoted field is not closed by the end of the file",
    ),
    "text after a closing quote": (
        "comments.csv",
        "1,Build more",
        '1,"Build" more',
        "comments.csv line 6: text follows the closing quote of a quoted field",
    ),
    "quote left open in the summary, closed by a later one": (
        "summary.csv",
        "groups,1",
        'groups,"1',
        "summary.csv line 9: text follows the closing quote of a quoted field",
    ),
    "timestamp out of range": (
        "comments.csv",
        "1500000120000",
        "99999999999999999999",
        "comments.csv line 3: timestamp 99999999999999999999 is out of range",
    ),
    "unknown comment": (
        "votes.csv",
        "1500000700000,Fri Jul 14 02:51:40 UTC 2017,0,4,1",
        "1500000700000,Fri Jul 14 02:51:40 UTC 2017,9,4,1",
        "votes.csv line 13: no comment with id 9",
    ),
    "vote before its comment": (
        "votes.csv",
        "1500000070000",
        "1500000050000",
        "before comment 1 was posted",
    ),
    "text too long for the domain": (
        "comments.csv",
        "Buy my crypto",
        "x" * 5001,
        "comments.csv line 3: comment-body must be at most",
    ),
    # Every limit a later command applies is checked while reading, at its file and line.
    "author id too long to name its participant": (
        "comments.csv",
        ",2,2,0,1,-1,Buy",
        f",2,{LONG_ID},0,1,-1,Buy",
        f"comments.csv line 3: author-id {LONG_ID} is too long to name a participant: "
        "display name must be at most 60 characters",
    ),
    "voter id too long to name its participant": (
        "votes.csv",
        ",0,4,1",
        f",0,{LONG_ID},1",
        f"votes.csv line 13: voter-id {LONG_ID} is too long to name a participant: "
        "display name must be at most 60 characters",
    ),
    "url too long to be the jam's source": (
        "summary.csv",
        URL,
        URL + "x" * 500,
        "summary.csv line 2: url must be at most 500 characters",
    ),
    # Times: not after now (the jam would stay open until then), nor before Pol.is was.
    "timestamp in the year 9999": (
        "votes.csv",
        "1500000700000,",
        "253402300799999,",
        "votes.csv line 13: timestamp 253402300799999 (9999-12-31T23:59:59.999000+00:00) "
        "is in the future",
    ),
    "timestamp in 2100": (
        "votes.csv",
        "1500000700000,",
        "4102444800000,",
        "votes.csv line 13: timestamp 4102444800000 (2100-01-01T00:00:00+00:00) is in the future",
    ),
    "timestamp in seconds": (
        "comments.csv",
        "1500000120000",
        "1500000120",
        "comments.csv line 3: timestamp 1500000120 (1970-01-18) is before 2000: "
        "Pol.is gives milliseconds since 1970",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_with_a_clear_message_before_anything_is_written(
    case, tmp_path, capsys, monkeypatch
):
    folder = tmp_path / "broken"
    shutil.copytree(TINY, folder)
    name, text, replacement, message = BAD[case]
    path = folder / name
    if replacement is None:
        path.unlink()
    else:
        path.write_text(path.read_text().replace(text, replacement))
    store = tmp_path / "var"
    monkeypatch.setenv("OPENJAM_DATA_DIR", str(store))
    with pytest.raises(PolisFormatError):
        read_conversation(folder)
    assert cli.main(["import", "polis", str(folder)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("jam: ")
    assert not store.exists()


# A quote left open where the lenient csv reader found no other quote: it read the rest of
# the file as the field's text, and imported the rows after it as part of one idea.
OPEN_QUOTE = {
    "comments.csv": (
        "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
        '1500000000000,x,0,0,0,0,1,"first idea with a stray quote\n'
        "1500000060000,x,1,1,0,0,0,second idea\n"
        "1500000120000,x,2,2,0,0,0,third idea\n",
        "comments.csv line 2: a quoted field is not closed by the end of the file",
    ),
    "summary.csv": (
        'url,https://pol.is/openquote\ntopic,"unterminated\nviews,9\n',
        "summary.csv line 2: a quoted field is not closed by the end of the file",
    ),
    "votes.csv": (
        "timestamp,datetime,comment-id,voter-id,vote\n"
        "1500000010000,x,0,1,1\n"
        '1500000020000,"x,0,2,-1\n'
        "1500000030000,x,0,3,0\n",
        "votes.csv line 3: a quoted field is not closed by the end of the file",
    ),
    "header": (
        'timestamp,"datetime,comment-id,voter-id,vote\n1500000010000,x,0,1,1\n',
        "votes.csv line 1: a quoted field is not closed by the end of the file",
    ),
}


@pytest.mark.parametrize("case", OPEN_QUOTE)
def test_a_quote_left_open_is_refused_at_the_line_it_opens_on(case, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "open-quote"
    folder.mkdir()
    (folder / "comments.csv").write_text(
        "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
        "1500000000000,x,0,0,0,0,1,first idea\n"
    )
    (folder / "votes.csv").write_text("timestamp,datetime,comment-id,voter-id,vote\n")
    text, message = OPEN_QUOTE[case]
    (folder / ("votes.csv" if case == "header" else case)).write_text(text)
    with pytest.raises(PolisFormatError, match="a quoted field is not closed"):
        read_conversation(folder)
    store = tmp_path / "var"
    monkeypatch.setenv("OPENJAM_DATA_DIR", str(store))
    assert cli.main(["import", "polis", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"jam: {message} (a quote inside a quoted field is written twice")
    assert err.count("\n") == 1
    assert not store.exists()


@pytest.mark.parametrize("name", ["comments.csv", "votes.csv", "summary.csv"])
def test_a_folder_in_place_of_a_file_is_refused_as_such(name, tmp_path, capsys, monkeypatch):
    # The summary is optional, but a folder by its name is not its absence (it was skipped),
    # nor is votes.csv missing when a folder stands there (so it was reported).
    folder = tmp_path / "folder-for-file"
    shutil.copytree(TINY, folder)
    (folder / name).unlink()
    (folder / name).mkdir()
    with pytest.raises(PolisFormatError):
        read_conversation(folder)
    store = tmp_path / "var"
    monkeypatch.setenv("OPENJAM_DATA_DIR", str(store))
    assert cli.main(["import", "polis", str(folder)]) == 2
    assert capsys.readouterr().err == f"jam: {name} in {folder} is a directory, not a file\n"
    assert not store.exists()


def test_a_folder_that_is_not_there_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENJAM_DATA_DIR", str(tmp_path / "var"))
    assert cli.main(["import", "polis", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_command_prints_the_jam_the_counts_and_how_to_open_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENJAM_DATA_DIR", str(tmp_path / "var"))
    assert cli.main(["import", "polis", str(TINY), "--segment", "family"]) == 0
    out = capsys.readouterr().out
    with JamApplication() as app:
        [jam_id] = jam_ids(app)
    assert f"as jam {jam_id}" in out
    for line in (
        "ideas:        3 (1 hidden",
        "votes:        6 agree/disagree",
        "passes:       2",
        "participants: 5",
        f"/jams/{jam_id}",
        f"--jam {jam_id}",
    ):
        assert line in out
    assert cli.main(["import", "polis", str(TINY)]) == 2
    assert "already imported" in capsys.readouterr().err


def test_a_byte_that_is_not_utf8_is_reported_at_its_line(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "latin-1"
    shutil.copytree(TINY, folder)
    comments = folder / "comments.csv"
    # Far past the first chunk a text stream decodes, with a Latin-1 "é" in comment 304.
    rows = "".join(f"1500000000000,,{n},0,0,0,0,Idea number {n}\n" for n in range(4, 304))
    comments.write_bytes(
        comments.read_bytes() + rows.encode() + b"1500000000000,,304,0,0,0,0,Caf\xe9\n"
    )
    data = comments.read_bytes()
    monkeypatch.setenv("OPENJAM_DATA_DIR", str(tmp_path / "var"))
    assert cli.main(["import", "polis", str(folder)]) == 2
    err = capsys.readouterr().err
    offset = data.index(b"\xe9")
    assert data.count(b"\n", 0, offset) + 1 == 307
    assert err.startswith(
        f"jam: comments.csv line 307: not UTF-8 text (byte 0xe9 at offset {offset}:"
    )
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("topic", ["\u202e", "\u200b\u2800", "   "])
def test_a_topic_that_shows_nothing_gives_way_to_the_folders_name(
    topic, tmp_path, capsys, monkeypatch
):
    folder = tmp_path / "invisible-topic"
    shutil.copytree(TINY, folder)
    summary = folder / "summary.csv"
    summary.write_text(summary.read_text().replace("Affordable homes for all?", topic))
    assert read_conversation(folder).topic == "invisible-topic"
    monkeypatch.setenv("OPENJAM_DATA_DIR", str(tmp_path / "var"))
    assert cli.main(["import", "polis", str(folder)]) == 0
    with JamApplication() as app:
        [jam_id] = jam_ids(app)
        assert app.load(Jam, jam_id).title == "invisible-topic"
        joined = [e for e in events(app) if type(e) is Participant.Joined]
        assert [e.display_name for e in joined if e.role == "organizer"] == ["Pol.is import"]


# An interrupted import: a rerun finishes it, writing only what is missing


class Interrupted(Exception):
    """The import's process stopped here."""


def interrupt_after(app: JamApplication, handled: int) -> None:
    """Let `handled` commands through, then stop every later one, as a killed process would."""
    handle, count, lock = app.handle, iter(range(1, 1_000_000)), threading.Lock()

    def stopping(command):
        with lock:
            n = next(count)
        if n > handled:
            raise Interrupted(f"stopped before command {n}")
        return handle(command)

    app.handle = stopping  # type: ignore[method-assign]


def story(app: JamApplication) -> list[tuple]:
    """The log, but for invites (whose codes are random), by aggregate and version."""
    return sorted(
        (str(e.originator_id), e.originator_version, type(e).__qualname__, e.timestamp)
        for e in events(app)
        if not type(e).__qualname__.startswith("Invite.") and type(e) is not Participant.Joined
    ) + sorted(
        (str(e.originator_id), e.display_name, e.role, e.segment, e.jam_id, e.timestamp)
        for e in events(app)
        if type(e) is Participant.Joined
    )


# 28 commands: organizer 2, jam 1, 5 participants 2 each, 3 ideas, 11 vote rows, 1 hide
@pytest.mark.parametrize("handled", [0, 1, 2, 3, 4, 7, 13, 14, 16, 19, 22, 25, 27])
def test_an_interrupted_import_is_finished_by_a_rerun_without_repeating_anything(
    handled, app, tmp_path
):
    with JamApplication(Settings(data_dir=tmp_path / "clean")) as clean:
        imported(clean)
        expected = story(clean)
    interrupt_after(app, handled)
    with pytest.raises(Interrupted):
        import_conversation(app, read_conversation(TINY), workers=4)
    del app.handle  # the process is started again
    done = import_conversation(app, read_conversation(TINY), workers=4)
    assert done.resumed == (handled >= 3)  # the jam was there
    assert (done.ideas, done.votes, done.passes, done.participants) == (3, 6, 2, 5)
    assert story(app) == expected
    invites = Counter(type(e).__qualname__ for e in events(app))["Invite.Issued"]
    assert 6 <= invites <= 6 + 4  # each of the 4 workers may have left one invite unused
    with pytest.raises(AlreadyImported, match="already imported as jam"):
        import_conversation(app, read_conversation(TINY), workers=4)


def test_a_newer_export_of_an_imported_conversation_is_refused_not_merged(app, tmp_path):
    # Pol.is exports grow: the jam made from the older one has closed, and its window would
    # not hold the new activity. Nothing is written; the old jam stays as it was.
    imported(app)
    newer = tmp_path / "tiny-housing"
    shutil.copytree(TINY, newer)
    with (newer / "comments.csv").open("a") as f:
        f.write("1500009000000,later,9,7,0,0,0,Community land trusts in every town\n")
    with (newer / "votes.csv").open("a") as f:
        f.write("1500009100000,later,9,8,1\n")
    before = app.position()
    with pytest.raises(AlreadyImported, match="import it into another store"):
        import_conversation(app, read_conversation(newer), workers=4)
    assert app.position() == before


def test_an_import_made_before_ids_were_derived_is_refused_without_a_new_organizer(
    app, monkeypatch
):
    # Such an import had an organizer with an id of its own: a rerun must not take the
    # missing derived organizer for work left, nor add an organizer of every jam.
    own = uuid4()
    monkeypatch.setattr(PolisIds, "organizer", property(lambda self: own))
    imported(app)
    monkeypatch.undo()
    before = app.position()
    with pytest.raises(AlreadyImported, match="already imported as jam"):
        import_conversation(app, read_conversation(TINY), workers=4)
    assert app.position() == before


def test_an_interrupted_import_is_finished_in_the_segment_it_began_with(app):
    interrupt_after(app, 10)  # some participants joined, some not
    with pytest.raises(Interrupted):
        import_conversation(app, read_conversation(TINY), segment="partner", workers=4)
    del app.handle
    with pytest.raises(AlreadyImported, match="rerun with --segment partner"):
        import_conversation(app, read_conversation(TINY), workers=4)
    done = import_conversation(app, read_conversation(TINY), segment="partner", workers=4)
    assert done.resumed
