"""The `jam` command line, run in-process on a SQLite store in the working directory."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import OperationalError

from domain import Participant
from domain.values import Role
from jam import commands as c
from jam.application import JamApplication
from jam.cli import database_problem, main
from jam.settings import Settings
from tests.services import require_postgres
from tests.stories import Scene, open_jam

CODE = re.compile(r"^[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}$")


def clear_openjam_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OPENJAM_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs `jam` in an empty folder: its store is ./var."""
    clear_openjam_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def jam(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def store(where: Path) -> JamApplication:
    return JamApplication(Settings(data_dir=where / "var"))


def join(where: Path, code: str) -> Participant:
    with store(where) as app:
        done = app.handle(c.JoinJam(invite_code=code, participant_id=uuid4(), display_name="Ada"))
        return app.load(Participant, done.id)


def log(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    code, out, _ = jam("events", "--json", capsys=capsys)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def scene(workdir: Path, clock) -> Iterator[Scene]:
    with JamApplication(Settings(data_dir=workdir / "var"), clock=clock) as app:
        yield open_jam(app, clock)


# Invites
def test_an_operator_prints_organizer_codes_one_per_line_and_each_works(workdir, capsys):
    code, out, _ = jam("invite", "--role", "organizer", "--count", "3", capsys=capsys)
    assert code == 0
    codes = out.splitlines()
    assert len(set(codes)) == len(codes) == 3
    assert all(CODE.match(line) for line in codes)
    for invite in codes:
        organizer = join(workdir, invite)
        assert (organizer.role, organizer.jam_id) == (Role.ORGANIZER, None)


def test_a_participant_code_needs_a_jam_to_exist(capsys):
    code, out, err = jam("invite", "--role", "participant", capsys=capsys)
    assert code == 2
    assert out == ""
    assert "there is no jam yet" in err


def test_with_one_jam_a_participant_code_is_for_that_jam(workdir, scene, capsys):
    code, out, _ = jam("invite", "--role", "participant", "--segment", "client", capsys=capsys)
    assert code == 0
    ada = join(workdir, out.strip())
    assert (ada.jam_id, ada.role, ada.segment.value) == (scene.jam_id, Role.PARTICIPANT, "client")


def test_with_two_jams_the_operator_must_say_which(workdir, scene, clock, capsys):
    with store(workdir) as app:
        other = open_jam(app, clock).jam_id
    code, out, err = jam("invite", "--role", "leader", capsys=capsys)
    assert code == 2
    assert out == ""
    assert "there are 2 jams" in err
    assert str(scene.jam_id) in err
    assert str(other) in err

    code, out, _ = jam("invite", "--role", "leader", "--jam", str(other), capsys=capsys)
    assert code == 0
    assert join(workdir, out.strip()).jam_id == other


def test_a_code_with_several_uses_lets_several_people_join(workdir, scene, capsys):
    _, out, _ = jam("invite", "--role", "participant", "--uses", "2", capsys=capsys)
    assert {join(workdir, out.strip()).jam_id for _ in range(2)} == {scene.jam_id}


@pytest.mark.parametrize(
    "args",
    [
        ["invite", "--role", "organizer", "--count", "0"],
        ["invite", "--role", "organizer", "--count", "many"],
        ["invite", "--role", "bogus"],
        ["invite", "--role", "participant", "--jam", "not-a-uuid"],
        ["invite", "--role", "participant", "--segment", "aliens"],
        ["invite"],
        ["events", "--limit", "0"],
        ["serve", "--port", "70000"],
        [],
    ],
    ids=" ".join,
)
def test_bad_arguments_exit_with_code_2_and_write_nothing(args, workdir, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("usage: jam")
    assert not (workdir / "var").exists()


def test_a_bad_setting_is_reported_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("OPENJAM_GROUP_COMMIT", "maybe")
    code, _, err = jam("invite", "--role", "organizer", capsys=capsys)
    assert code == 2
    assert "OPENJAM_GROUP_COMMIT='maybe'" in err


def test_a_bad_sqlite_sync_level_is_reported_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("OPENJAM_SQLITE_SYNCHRONOUS", "sometimes")
    code, _, err = jam("events", capsys=capsys)
    assert code == 2
    assert "OPENJAM_SQLITE_SYNCHRONOUS" in err


# The event log
def test_events_prints_one_readable_line_per_event(scene, capsys):
    jam_id = scene.jam_id
    scene.join(name="Ada")
    code, out, _ = jam("events", capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == scene.app.position() == 7
    assert [line.split()[0] for line in lines] == [f"#{n}" for n in range(1, 8)]
    names = [line.split()[2] for line in lines]
    assert names == [
        "Invite.Issued",
        "Invite.Redeemed",
        "Participant.Joined",
        "Jam.Created",
        "Invite.Issued",
        "Invite.Redeemed",
        "Participant.Joined",
    ]
    assert "display_name='Ada'" in lines[-1]
    assert "title='InnovationJam'" in lines[3]
    assert f"jam_id={str(jam_id)[:8]}" in lines[-1]  # ids shortened to their first block


def test_events_as_json_lines_carry_position_name_time_and_id(scene, capsys):
    ada = scene.join(name="Ada")
    events = log(capsys)
    assert [e["position"] for e in events] == list(range(1, 8))
    joined = events[-1]
    assert joined["event"] == "Participant.Joined"
    assert joined["id"] == str(ada)
    assert joined["version"] == 1
    assert joined["jam_id"] == str(scene.jam_id)
    assert joined["display_name"] == "Ada"
    assert joined["at"] == scene.clock.now.isoformat()
    created = next(e for e in events if e["event"] == "Jam.Created")
    assert created["id"] == str(scene.jam_id)
    assert [f["slug"] for f in created["forums"]] == ["future-of-work", "health"]


def test_events_can_start_later_and_stop_early(scene, capsys):
    code, out, _ = jam("events", "--limit", "2", capsys=capsys)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["#1", "#2"]
    _, out, _ = jam("events", "--from", "3", "--limit", "1", "--json", capsys=capsys)
    assert [json.loads(line)["position"] for line in out.splitlines()] == [3]


def test_events_on_an_empty_store_prints_nothing(capsys):
    assert jam("events", capsys=capsys) == (0, "", "")


def test_events_piped_into_a_reader_that_stops_early_end_quietly(scene, workdir):
    # `jam events | head` ended in a BrokenPipeError traceback.
    author = scene.join()
    for n in range(400):
        scene.post_idea(author, title=f"Idea number {n}", body="A body long enough " * 4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENJAM_")}
    reader = subprocess.Popen(
        [sys.executable, "-m", "jam.cli", "events"],
        cwd=workdir,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None
    assert reader.stdout.readline().startswith(b"#1 ")
    reader.stdout.close()  # as head does once it has its lines
    _, err = reader.communicate(timeout=60)
    assert reader.returncode == 141
    assert b"Traceback" not in err


def test_a_data_folder_that_cannot_be_made_is_a_message_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("OPENJAM_DATA_DIR", "/proc/openjam-nowhere")
    code, _, err = jam("projections", "status", capsys=capsys)
    assert code == 2
    assert err.startswith("jam: ")
    assert "/proc/openjam-nowhere" in err
    assert "Traceback" not in err


# A database that cannot be reached
@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port this test holds without listening on it: connecting there is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    "args",
    [
        ["events", "--limit", "1"],
        ["invite", "--role", "organizer"],
        ["projections", "status"],
        ["projections", "rebuild"],
        ["serve"],
        ["demo"],
    ],
    ids=" ".join,
)
def test_an_unreachable_database_is_one_line_with_its_cause_and_no_password(
    args, refusing_port, monkeypatch, capsys
):
    url = f"postgresql://nouser:s3cret@127.0.0.1:{refusing_port}/x"
    monkeypatch.setenv("OPENJAM_DATABASE_URL", url)
    code, out, err = jam(*args, capsys=capsys)
    assert code == 2
    assert (out, err) == (
        "",
        f"jam: cannot connect to the database at postgresql://nouser@127.0.0.1:{refusing_port}/x:"
        " connection refused\n",
    )


def test_a_database_that_does_not_exist_is_named(monkeypatch, capsys):
    parts = urlsplit(require_postgres())
    monkeypatch.setenv(
        "OPENJAM_DATABASE_URL", urlunsplit(parts._replace(path="/openjam_no_such_db"))
    )
    code, _, err = jam("events", capsys=capsys)
    assert code == 2
    where = f"{parts.username or 'postgres'}@{parts.hostname}:{parts.port or 5432}"
    assert err == (
        f"jam: cannot connect to the database at postgresql://{where}/openjam_no_such_db:"
        ' database "openjam_no_such_db" does not exist\n'
    )


def test_a_database_that_answers_passes_the_check(tmp_path):
    assert database_problem(Settings(database_url=require_postgres())) is None
    assert database_problem(Settings(data_dir=tmp_path / "var")) is None  # SQLite: nothing to do


def test_a_database_lost_after_the_check_is_still_one_line(refusing_port, monkeypatch, capsys):
    monkeypatch.setenv("OPENJAM_DATABASE_URL", f"postgresql://nouser@127.0.0.1:{refusing_port}/x")

    def lost(*args: object) -> int:
        raise OperationalError("couldn't get a connection after 5.00 sec")

    monkeypatch.setattr("jam.cli.check_database", lambda settings: None)
    monkeypatch.setattr("jam.cli._events", lost)
    code, _, err = jam("events", capsys=capsys)
    assert code == 2
    assert err.startswith("jam: cannot connect to the database at postgresql://nouser@127.0.0.1:")
    assert err.endswith(": connection refused\n")


# The demo
@dataclass
class Seeded:
    where: Path
    output: str
    events: list[dict]

    @property
    def invites(self) -> dict[str, str]:
        return dict(re.findall(r"^\s+(participant|organizer|leader)\s+(\S+)$", self.output, re.M))

    @property
    def jam_id(self) -> UUID:
        found = re.search(r"jam id:\s+(\S+)", self.output)
        assert found is not None
        return UUID(found.group(1))


def run_demo(where: Path) -> str:
    with pytest.MonkeyPatch.context() as monkeypatch:
        clear_openjam_env(monkeypatch)
        monkeypatch.chdir(where)
        printed = io.StringIO()
        with redirect_stdout(printed):
            assert main(["demo", "--no-serve"]) == 0
    return printed.getvalue()


def read_log(where: Path) -> list[dict]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(where)
        printed = io.StringIO()
        with redirect_stdout(printed):
            assert main(["events", "--json"]) == 0
    return [json.loads(line) for line in printed.getvalue().splitlines()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """Seeding takes seconds: done once, shared by the demo stories."""
    where = tmp_path_factory.mktemp("demo")
    output = run_demo(where)
    return Seeded(where=where, output=output, events=read_log(where))


def test_the_demo_seeds_one_jam_with_four_forums(demo):
    created = [e for e in demo.events if e["event"] == "Jam.Created"]
    assert len(created) == 1
    assert created[0]["id"] == str(demo.jam_id)
    assert len(created[0]["forums"]) == 4


def test_the_demo_is_busy_with_ideas_threaded_comments_and_votes(demo):
    counts = Counter(e["event"] for e in demo.events)
    assert counts["Idea.Posted"] >= 200
    assert counts["Comment.Posted"] >= 400
    assert counts["Vote.Cast"] >= 1000
    replies = [e for e in demo.events if e["event"] == "Comment.Posted" and e["parent_id"]]
    assert 0 < len(replies) < counts["Comment.Posted"]
    assert {e["jam_id"] for e in demo.events if e["event"] == "Idea.Posted"} == {str(demo.jam_id)}


def test_the_demo_has_people_from_every_segment(demo):
    joined = [e for e in demo.events if e["event"] == "Participant.Joined"]
    assert {e["segment"] for e in joined} == {"employee", "client", "family", "partner"}


def test_the_demo_prints_where_to_go_and_codes_for_each_role(demo):
    assert "Seeding the demo jam" in demo.output
    assert "http://127.0.0.1:8000/" in demo.output
    assert "http://127.0.0.1:8000/health" in demo.output
    assert "reads need a session" in demo.output  # the API's links alone would answer 401
    assert "make a personal code on My activity" in demo.output  # the way back as oneself
    assert list(demo.invites) == ["participant", "organizer", "leader"]
    assert all(CODE.match(code) for code in demo.invites.values())


@pytest.mark.parametrize("role", ["participant", "leader"])
def test_the_demo_codes_let_people_join_the_demo_jam(demo, role):
    person = join(demo.where, demo.invites[role])
    assert (person.role.value, person.jam_id) == (role, demo.jam_id)


def test_running_the_demo_again_reuses_the_open_jam_with_fresh_codes(demo):
    output = run_demo(demo.where)
    again = Seeded(where=demo.where, output=output, events=read_log(demo.where))
    assert "Seeding" not in output
    assert again.jam_id == demo.jam_id
    assert [e["event"] for e in again.events].count("Jam.Created") == 1
    assert set(again.invites.values()).isdisjoint(demo.invites.values())
    assert join(demo.where, again.invites["participant"]).jam_id == demo.jam_id
